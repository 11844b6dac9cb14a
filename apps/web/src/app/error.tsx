'use client';

/**
 * The page's error boundary (Next's `error.tsx`). A client that cannot open
 * (an unknown sync group, a browser without OPFS) rejects the promise given
 * to <CarburetorProvider>, which throws it here as `client_failed`: the
 * reason shows instead of a blank page.
 */
export default function PageError({ error, reset }: { error: Error; reset: () => void }) {
  return (
    <main className="sign-in">
      <div className="card sign-in-card stack">
        <h1>The phone book could not open</h1>
        <p className="error-text" role="alert">
          {error.message}
        </p>
        <button type="button" className="primary" onClick={reset}>
          Try again
        </button>
      </div>
    </main>
  );
}
