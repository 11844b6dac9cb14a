'use server';

import { cookies } from 'next/headers';
import { SESSION_COOKIE, userIdOf } from '../server/session';

/** The sign-in stub: any name is accepted. Replace with your auth. */
export async function signIn(form: FormData): Promise<void> {
  const userId = userIdOf(form.get('name'));
  if (!userId) return;
  (await cookies()).set(SESSION_COOKIE, userId, { path: '/', sameSite: 'lax', httpOnly: true });
}

export async function signOut(): Promise<void> {
  (await cookies()).delete(SESSION_COOKIE);
}
