import { signIn } from './actions';

/** Sign in with any name (a stub: see server/session.ts). */
export function SignInForm() {
  return (
    <form action={signIn}>
      <input name="name" aria-label="name" placeholder="Your name" required />
      <button type="submit">Sign in</button>
    </form>
  );
}
