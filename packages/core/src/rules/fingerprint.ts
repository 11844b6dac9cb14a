import { CarburetorError } from '../errors.ts';

/**
 * A canonical text of a JSON-like value: object keys sorted at every depth,
 * so key order never changes the fingerprint. Beyond JSON, `bigint`, `NaN`
 * and infinities get their own unquoted tokens instead of colliding with
 * strings or `null`; the text is only hashed, never parsed.
 */
function canonical(value: unknown, path: unknown[]): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `${value}n`;
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'undefined';
  }
  if (value === null) return 'null';
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === 'function') {
    return canonical((withJson.toJSON as () => unknown).call(value), path);
  }
  if (path.includes(value)) {
    throw new CarburetorError('invalid_value', 'Cannot fingerprint a value that contains itself.');
  }
  path.push(value);
  let text: string;
  if (Array.isArray(value)) {
    text = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ',';
      const item: unknown = value[i];
      // As JSON does: a hole or undefined in an array is null.
      text +=
        item === undefined || typeof item === 'function' || typeof item === 'symbol'
          ? 'null'
          : canonical(item, path);
    }
    text += ']';
  } else {
    const record = value as Record<string, unknown>;
    text = '{';
    let first = true;
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      // As JSON does: undefined properties are absent.
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      if (!first) text += ',';
      first = false;
      text += `${JSON.stringify(key)}:${canonical(item, path)}`;
    }
    text += '}';
  }
  path.pop();
  return text;
}

/**
 * A short stable hash of a JSON-like value, independent of object key order:
 * 64 bits as 16 hex digits (cyrb53's two 32-bit lanes over the canonical
 * text's UTF-16 code units). Pure JS so server and browser agree. Used to
 * fingerprint a group's definition and the caller's context values in
 * download cursors; not a cryptographic hash.
 *
 * @throws {CarburetorError} `invalid_value` for a value that contains itself.
 * @example
 * ```ts
 * fingerprint({ group: 'todos', userId: 'u1' }) === fingerprint({ userId: 'u1', group: 'todos' }); // true
 * ```
 */
export function fingerprint(value: unknown): string {
  const text = canonical(value, []);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
