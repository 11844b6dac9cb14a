'use server';

import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { SESSION_COOKIE, userIdOf } from '../server/session.ts';

/** What the sign-in form shows after a failed attempt. */
export interface SignInState {
  error?: string;
}

/** Signs in by name: no password, it is a demo of sync, not of auth. */
export async function signIn(_previous: SignInState, form: FormData): Promise<SignInState> {
  const userId = userIdOf(form.get('name'));
  if (!userId) return { error: 'Type a name: letters, digits, "-" or "_".' };
  (await cookies()).set(SESSION_COOKIE, userId, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: 60 * 60 * 24 * 365,
  });
  redirect('/');
}

/** Forgets the session. The page wipes the user's replica first. */
export async function signOut(): Promise<void> {
  (await cookies()).delete(SESSION_COOKIE);
}
