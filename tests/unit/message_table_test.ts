/**
 * The message table against the codec and against PROTOCOL.md: every
 * message round-trips from its builder through the validating decoder,
 * every malformed item of every message is refused with `PROTOCOL`, and
 * the documented message list is the table. All cases come from the table
 * itself, so a new message or item is covered (or the test says what it
 * lacks).
 *
 * @module
 */

import assert from "node:assert/strict";
import { defineExtension } from "../../mod.ts";
import { CodecError, ProtocolError } from "../../src/base/errors.ts";
import { concat } from "../../src/base/bytes.ts";
import { Outbox } from "../../src/session/outbox.ts";
import {
  type Field,
  MESSAGE_TABLE,
  outgoing,
  type OutgoingMessage,
} from "../../src/protocol/message_table.ts";
import { MessageCodec } from "../../src/protocol/message_codec.ts";
import { MessageType } from "../../src/protocol/message_type.ts";

/** A class the receiving codec has no extension for: its values cannot be decoded there. */
class Opaque {
  constructor(readonly n: number) {}
}
const opaque = defineExtension({
  type: 33,
  class: Opaque,
  encode: (value) => value.n,
  decode: (n) => new Opaque(n as number),
});

const codec = new MessageCodec([]);
/** Writes values `codec` cannot decode. */
const writer = new MessageCodec([opaque]);

/** A valid value for each item name of the table. */
const GOOD: Record<string, unknown> = {
  id: 7,
  action: "echo",
  data: { a: [1, "two"] },
  meta: {
    timeout: 500,
    stream: 4,
    streamBytes: 8192,
    input: true,
    lastEventId: "e-1",
  },
  // Metadata decodes to a Metadata object: metadata_test.ts covers it.
  answerMeta: {},
  value: [1, 2, 3],
  error: { code: "ACTION_FAILED", name: "TypeError", message: "boom" },
  proof: new Uint8Array([1, 2, 3]),
  credentials: { user: "ada" },
  item: "an item",
  eventId: 3,
  count: 16,
  byteCount: 65_536,
  items: ["an item", { n: 2 }],
  total: 2048,
  bytes: new Uint8Array([9, 8]),
};

/** Values each envelope item must refuse. */
const BAD: Record<string, unknown[]> = {
  id: [-1, 1.5, "7", null, 2 ** 53],
  action: [42, null, new Uint8Array(1)],
  meta: [
    "fast",
    [1],
    { timeout: -1 },
    { timeout: "1s" },
    { stream: 0 },
    { stream: 65_537 },
    { stream: 1.5 },
    { streamBytes: 0 },
    { streamBytes: -1 },
    { streamBytes: "64k" },
    { lastEventId: true },
  ],
  answerMeta: ["fast", [1]],
  error: [
    "boom",
    { code: "", name: "E", message: "m" },
    { code: "X", name: 1, message: "m" },
    { code: "X", name: "E", message: "m", stack: 1 },
    { code: "X", name: "E", message: "m", issues: "bad" },
    { code: "X", name: "E", message: "m", issues: [{ message: 1 }] },
    { code: "X", name: "E", message: "m", issues: [{ message: "a", path: 1 }] },
    { code: "X", name: "E", message: "m", fields: [1] },
  ],
  proof: ["secret", 1, {}],
  eventId: [true, {}, null],
  count: [0, -1, 1.5, "16"],
  byteCount: [-1, 1.5, "16", null],
  total: [-1, "2048", 0.5],
  bytes: ["bytes", [1, 2], null],
};

/** Items any value is fine for: only an undecodable one is refused. */
const ANY = new Set(["credentials"]);

type Row = (typeof MESSAGE_TABLE)[number];
type Builder = (...items: unknown[]) => OutgoingMessage;

function fieldsOf(row: Row): readonly Field[] {
  return row.fields;
}

function goodItems(row: Row, count = fieldsOf(row).length): unknown[] {
  return fieldsOf(row).slice(0, count).map((field) => GOOD[field.name]);
}

/** What the decoder gives for a row's good items, the first `count` of them. */
function expected(row: Row, count: number): Record<string, unknown> {
  const message: Record<string, unknown> = { type: row.type };
  fieldsOf(row).forEach((field, i) => {
    if (i >= count) {
      if (field.present) message[field.name] = undefined;
    } else if (field.kind === "merge") {
      Object.assign(message, GOOD[field.name]);
    } else message[field.name] = GOOD[field.name];
  });
  return message;
}

function decodeRaw(items: unknown[]) {
  return codec.decode(concat(writer.encodeRaw(items)));
}

function assertProtocol(items: unknown[], pattern?: RegExp): void {
  assert.throws(
    () => decodeRaw(items),
    (error) => {
      assert.ok(error instanceof ProtocolError, Deno.inspect(items));
      assert.equal(error.code, "PROTOCOL", Deno.inspect(items));
      assert.match(error.message, /^The peer sent a malformed message: /);
      if (pattern) assert.match(error.message, pattern, Deno.inspect(items));
      return true;
    },
  );
}

Deno.test("message table: one row per type, in type order, each with a builder", () => {
  assert.deepStrictEqual(
    MESSAGE_TABLE.map((row) => row.type),
    Object.values(MessageType),
  );
  assert.deepStrictEqual(
    Object.keys(outgoing).sort(),
    MESSAGE_TABLE.map((row) => row.name).sort(),
  );
  for (const row of MESSAGE_TABLE) {
    const fields = fieldsOf(row);
    const firstOptional = fields.findIndex((field) => field.optional);
    if (firstOptional !== -1) {
      assert.ok(
        fields.slice(firstOptional).every((field) => field.optional),
        `${row.name}: only trailing items may be optional`,
      );
    }
  }
});

Deno.test("message table: every message round-trips from its builder through the decoder", () => {
  for (const row of MESSAGE_TABLE) {
    const fields = fieldsOf(row);
    const required = fields.filter((field) => !field.optional).length;
    for (let count = required; count <= fields.length; count++) {
      const build = outgoing[row.name] as Builder;
      const message = build(...goodItems(row, count));
      // A request always carries its data item, even undefined (PROTOCOL.md, "Request").
      assert.deepStrictEqual(
        message.slice(0, count + 1),
        [row.type, ...goodItems(row, count)],
        row.name,
      );
      assert.ok(message.slice(count + 1).every((item) => item === undefined));
      const decoded = codec.decode(concat(codec.encode(message)));
      assert.deepStrictEqual(decoded, expected(row, count), row.name);
    }
  }
});

Deno.test("message table: builders leave out a trailing optional item given as undefined", () => {
  assert.deepStrictEqual([...outgoing.goodbye()], [MessageType.GOODBYE]);
  assert.deepStrictEqual([...outgoing.item(1, "x", undefined)], [
    MessageType.ITEM,
    1,
    "x",
  ]);
  assert.deepStrictEqual([...outgoing.request(1, "a", undefined)], [
    MessageType.REQUEST,
    1,
    "a",
    undefined,
  ]);
});

Deno.test("message table: each malformed item of each message is refused with PROTOCOL", () => {
  let cases = 0;
  for (const row of MESSAGE_TABLE) {
    fieldsOf(row).forEach((field, i) => {
      if (field.kind === "data" || ANY.has(field.name)) return;
      const bad = BAD[field.name];
      assert.ok(bad, `no malformed values listed for item "${field.name}"`);
      for (const value of bad) {
        const items = [row.type, ...goodItems(row)];
        items[i + 1] = value;
        assertProtocol(items);
        cases++;
      }
    });
  }
  assert.ok(cases > 60);
});

Deno.test("message table: an undecodable envelope item is PROTOCOL; an undecodable user value fails only its call", () => {
  for (const row of MESSAGE_TABLE) {
    fieldsOf(row).forEach((field, i) => {
      const items = [row.type, ...goodItems(row)];
      items[i + 1] = new Opaque(1);
      if (field.kind !== "data") {
        assertProtocol(items, /cannot be decoded/);
        return;
      }
      const decoded = decodeRaw(items) as unknown as Record<string, unknown>;
      assert.equal(decoded.type, row.type);
      assert.equal(decoded[field.name], undefined);
      const error = decoded[`${field.name}Error`];
      assert.ok(error instanceof CodecError, row.name);
      assert.match(error.message, /extension type 33/);
    });
  }
});

Deno.test("message table: a wrong number of items, an unknown type, or trailing bytes is PROTOCOL", () => {
  for (const row of MESSAGE_TABLE) {
    const fields = fieldsOf(row);
    const required = fields.filter((field) => !field.optional).length;
    const what = new RegExp(`^The peer sent a malformed message: ${row.what} `);
    if (required > 0) {
      assertProtocol([row.type, ...goodItems(row, required - 1)], what);
    }
    assertProtocol([row.type, ...goodItems(row), 1], what);
  }
  assertProtocol([19], /unknown message type 19/);
  assertProtocol([-1, 1], /unknown message type -1/);
  assertProtocol(["request", 1], /unknown message type string/);
  assertProtocol([], /unknown message type undefined/);
  assert.throws(
    () => codec.decode(new Uint8Array([0x92, 0x03, 0x01, 0xc0])),
    /bytes follow the message/,
  );
  assert.throws(
    () => codec.decode(new Uint8Array([0x03])),
    /must be a MessagePack array/,
  );
});

Deno.test("message table: a message built by hand is a type error", () => {
  const take = (message: OutgoingMessage) => message;
  // @ts-expect-error: only a builder makes an OutgoingMessage.
  take([MessageType.CREDIT, 1, 2]);
  // @ts-expect-error: the codec encodes only what a builder made.
  codec.encode([MessageType.CREDIT, 1, 2]);
  const outbox = new Outbox(
    { send() {}, drain: () => Promise.resolve() },
    codec,
  );
  // @ts-expect-error: nor does the outbox send anything else.
  outbox.send([MessageType.PING, 1]);
  // @ts-expect-error: a credit's count is a number.
  outgoing.credit(1, "2");
  // @ts-expect-error: a fragment has a total and bytes.
  outgoing.fragment(1, 2);
  // @ts-expect-error: a request's meta fields are typed.
  outgoing.request(1, "a", null, { timeout: "1s" });
  const decoded = codec.decode(concat(codec.encode(outgoing.item(1, 2, "e"))));
  if (decoded.type === MessageType.ITEM) {
    const eventId: string | number | undefined = decoded.eventId;
    assert.equal(eventId, "e");
  } else assert.fail("not an item");
});

Deno.test("message table: PROTOCOL.md lists the same messages, names and items", async () => {
  const text = await Deno.readTextFile(
    new URL("../../PROTOCOL.md", import.meta.url),
  );
  const section = text.slice(
    text.indexOf("## 4. Messages"),
    text.indexOf("### 4.1"),
  );
  const rows = [
    ...section.matchAll(
      /^\| (\d+) +\| \[([a-z-]+)\]\([^)]*\) *\| `\[(.*)\]` *\|$/gm,
    ),
  ].map(([, type, name, items]) => ({
    type: Number(type),
    name: name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
    items: items.split(", ").slice(1),
  }));
  assert.deepStrictEqual(
    rows,
    MESSAGE_TABLE.map((row) => ({
      type: row.type,
      name: row.name,
      items: fieldsOf(row).map((field) =>
        field.optional ? `${field.name}?` : field.name
      ),
    })),
  );
});
