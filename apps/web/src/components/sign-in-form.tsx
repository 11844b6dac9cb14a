'use client';

import { useActionState } from 'react';
import { type SignInState, signIn } from '../app/actions.ts';

export function SignInForm() {
  const [state, action, pending] = useActionState<SignInState, FormData>(signIn, {});
  return (
    <main className="sign-in">
      <div className="card sign-in-card">
        <h1>
          <span className="logo" aria-hidden="true">
            ☎
          </span>{' '}
          Phone book
        </h1>
        <p className="muted">
          A local-first demo of Carburetor: your contacts live in this browser, work offline, and
          sync to every device you sign in on.
        </p>
        <form action={action} className="stack">
          <label>
            Your name
            <input
              name="name"
              autoComplete="username"
              placeholder="e.g. ada"
              aria-invalid={state.error ? true : undefined}
              // biome-ignore lint/a11y/noAutofocus: the only field on the page
              autoFocus
            />
          </label>
          {state.error ? (
            <p className="field-error" role="alert">
              {state.error}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p className="muted small">
          No password: any name is an account. Pick another to see that private contacts stay
          private.
        </p>
      </div>
    </main>
  );
}
