/**
 * UTF-8 by hand, for short strings: cheaper than a call into TextEncoder.
 * {@linkcode utf8Length} and {@linkcode writeUtf8Units} count the same
 * bytes, and both turn a lone surrogate into U+FFFD, as TextEncoder does.
 *
 * @module
 */

/**
 * Measures a string's UTF-8 encoding.
 *
 * @param value The string.
 * @returns How many bytes {@linkcode writeUtf8Units} writes for it.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./utf8.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
 * ```
 */
export function utf8Length(value: string): number {
  let byteLength = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) {
      byteLength += 1;
    } else if (unit < 0x800) {
      byteLength += 2;
    } else if (unit < 0xd800 || unit > 0xdbff) {
      // Not a high surrogate; a lone low surrogate becomes U+FFFD, 3 bytes.
      byteLength += 3;
    } else {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        byteLength += 4;
        i++;
      } else {
        byteLength += 3;
      }
    }
  }
  return byteLength;
}

/**
 * Writes a string as UTF-8. The caller makes room first: at most 3 bytes
 * per UTF-16 unit.
 *
 * @param buffer Where to write.
 * @param value The string.
 * @param at Where its first byte goes.
 * @returns How many bytes were written.
 *
 * @example
 * ```ts
 * import { writeUtf8Units } from "./utf8.ts";
 * import assert from "node:assert/strict";
 *
 * const buffer = new Uint8Array(8);
 * const count = writeUtf8Units(buffer, "é\ud800", 0);
 * assert.deepEqual(buffer.subarray(0, count), new TextEncoder().encode("é\ud800"));
 * ```
 */
export function writeUtf8Units(
  buffer: Uint8Array,
  value: string,
  at: number,
): number {
  let position = at;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) {
      buffer[position++] = unit;
    } else if (unit < 0x800) {
      buffer[position++] = 0xc0 | (unit >> 6);
      buffer[position++] = 0x80 | (unit & 0x3f);
    } else if (unit < 0xd800 || unit > 0xdfff) {
      buffer[position++] = 0xe0 | (unit >> 12);
      buffer[position++] = 0x80 | ((unit >> 6) & 0x3f);
      buffer[position++] = 0x80 | (unit & 0x3f);
    } else {
      const next = value.charCodeAt(i + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
        buffer[position++] = 0xf0 | (codePoint >> 18);
        buffer[position++] = 0x80 | ((codePoint >> 12) & 0x3f);
        buffer[position++] = 0x80 | ((codePoint >> 6) & 0x3f);
        buffer[position++] = 0x80 | (codePoint & 0x3f);
        i++;
      } else {
        // A lone surrogate is not Unicode: send U+FFFD, as TextEncoder does.
        buffer[position++] = 0xef;
        buffer[position++] = 0xbf;
        buffer[position++] = 0xbd;
      }
    }
  }
  return position - at;
}
