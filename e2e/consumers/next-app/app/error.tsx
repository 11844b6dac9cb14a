'use client';

// docs/guide.md, React: a client that cannot open reaches this boundary as `client_failed`.
export default function PageError({ error, reset }: { error: Error; reset: () => void }) {
  return (
    <main>
      <p role="alert">{error.message}</p>
      <button type="button" onClick={reset}>
        Try again
      </button>
    </main>
  );
}
