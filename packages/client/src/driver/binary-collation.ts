/**
 * Compares two strings by Unicode code point, which is how SQLite's BINARY
 * collation orders UTF-8 text (memcmp of the bytes). JavaScript's `<`
 * compares UTF-16 code units instead, and differs for characters above
 * U+FFFF against U+E000..U+FFFF: those units are remapped before comparing.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800..DFFF) go above E000..FFFF; E000..FFFF come down below them.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
