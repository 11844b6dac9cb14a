/** The cookie that holds the signed-in user's id. A demo: anyone may claim any name. */
export const SESSION_COOKIE = 'carburetor_user';

/**
 * The user id for a name typed at sign-in: lowercase letters, digits, `-`
 * and `_` (it also names the browser replica), or undefined when nothing is
 * left.
 */
export function userIdOf(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  const id = name
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9_-]/g, '')
    .slice(0, 40);
  return id.length > 0 ? id : undefined;
}

/** The user id in a request's Cookie header, if any. */
export function userIdFromCookieHeader(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return userIdOf(decodeURIComponent(value.join('=')));
  }
  return undefined;
}
