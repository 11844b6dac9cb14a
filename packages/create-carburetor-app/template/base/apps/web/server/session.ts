/**
 * The sign-in stub: the cookie holds the user id, and anyone may claim any
 * name. Replace this file (and app/actions.ts) with your auth.
 */
export const SESSION_COOKIE = 'user';

/** The user id for a typed name: lowercase letters, digits, `-` and `_` (it also names the replica). */
export function userIdOf(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  const id = name
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9_-]/g, '')
    .slice(0, 40);
  return id || undefined;
}

/** What every procedure sees: the signed-in user. */
export interface Context {
  readonly userId: string | undefined;
}

/** The context of a request, from its session cookie. */
export function contextOf(req: Request): Context {
  for (const part of (req.headers.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return { userId: userIdOf(decodeURIComponent(value.join('='))) };
  }
  return { userId: undefined };
}
