/**
 * `deno run -A bench/codec_bench.ts`: how long isock's codec takes to
 * encode and decode typical messages, next to msgpackr and
 * @msgpack/msgpack on the same values, in one process. Each cell is the
 * best of several timed rounds, in nanoseconds per operation; the table
 * goes to stdout as Markdown.
 *
 * isock is timed through `Codec.encodeParts` (what the session writes) and
 * `Codec.decode`; the peers through their reusable encoder and decoder
 * objects, with plain maps (msgpackr's records are not standard
 * MessagePack).
 *
 * @module
 */

import assert from "node:assert/strict";
import { concat } from "../src/base/bytes.ts";
import { Codec } from "../codec.ts";
import { ensurePeers } from "./peers.ts";

/**
 * The peers are plain ESM in bench/peers/node_modules, loaded only when the
 * bench runs, so that type-checking it needs no install (see bench/codecs.ts).
 */
const MSGPACKR =
  new URL("./peers/node_modules/msgpackr/index.js", import.meta.url).href;
const MSGPACK_MSGPACK = new URL(
  "./peers/node_modules/@msgpack/msgpack/dist.esm/index.mjs",
  import.meta.url,
).href;

interface Msgpackr {
  Packr: new (options: { useRecords: boolean }) => {
    pack(value: unknown): Uint8Array;
  };
  Unpackr: new (options: { useRecords: boolean }) => {
    unpack(bytes: Uint8Array): unknown;
  };
}

interface MsgpackMsgpack {
  Encoder: new () => { encode(value: unknown): Uint8Array };
  Decoder: new () => { decode(bytes: Uint8Array): unknown };
}

/** A codec under test: `encode`'s result is only kept, never looked into. */
interface BenchedCodec {
  readonly name: string;
  encode(value: unknown): unknown;
  /** Turns what `encode` returned into the bytes `decode` takes. */
  toBytes(encoded: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/** A value to time, as a message the session would send. */
interface BenchedMessage {
  readonly name: string;
  readonly value: unknown;
}

const ITEM = { id: 1, name: "hello", tags: ["a", "b"], ts: 1234567890 };

const MESSAGES: readonly BenchedMessage[] = [
  { name: "request", value: [0, 123, "echo", ITEM] },
  { name: "result", value: [1, 123, ITEM] },
  {
    name: "2 KB string",
    value: [0, 123, "echo", "The quick brown fox. ".repeat(98).slice(0, 2048)],
  },
  {
    name: "100 small objects",
    value: [1, 123, {
      items: Array.from({ length: 100 }, (_, i) => ({
        id: i,
        name: `item ${i}`,
        price: i * 1.25,
        inStock: i % 3 !== 0,
      })),
    }],
  },
  { name: "1 MiB binary", value: new Uint8Array(1 << 20).fill(7) },
];

/** Timed rounds per operation; the best one counts. */
const ROUNDS = 40;
/** How long one round runs, about. */
const ROUND_MS = 5;
/**
 * How long each operation runs before it is timed, so that the JIT has
 * optimized it (on a busy 2-core machine, compiling can lag for a while).
 */
const WARMUP_MS = 100;

/** Keeps results alive so that no call can be optimized away. */
let sink: unknown;

/**
 * Times each operation and returns its best time per call. Rounds take
 * turns between the operations, so that a slow moment of the machine
 * does not fall on one codec only.
 *
 * @param operations The work, each run many times in a loop.
 * @returns Nanoseconds per call of each operation, the fastest of
 * {@linkcode ROUNDS} rounds.
 */
function nanosecondsPerCall(operations: readonly (() => unknown)[]): number[] {
  const calls = operations.map(callsPerRound);
  const best = operations.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    operations.forEach((operation, index) => {
      best[index] = Math.min(best[index], timeCalls(operation, calls[index]));
    });
  }
  return best;
}

function timeCalls(operation: () => unknown, calls: number): number {
  const start = performance.now();
  for (let i = 0; i < calls; i++) sink = operation();
  return (performance.now() - start) * 1e6 / calls;
}

/** Warms the operation up, then finds how many calls take about {@linkcode ROUND_MS}. */
function callsPerRound(operation: () => unknown): number {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) timeCalls(operation, 10);
  for (let calls = 1;; calls *= 2) {
    const nanoseconds = timeCalls(operation, calls);
    if (nanoseconds * calls >= ROUND_MS * 1e6 / 4) {
      return Math.max(1, Math.round(ROUND_MS * 1e6 / nanoseconds));
    }
  }
}

async function loadCodecs(): Promise<BenchedCodec[]> {
  await ensurePeers();
  const { Packr, Unpackr }: Msgpackr = await import(MSGPACKR);
  const msgpack: MsgpackMsgpack = await import(MSGPACK_MSGPACK);
  const isock = new Codec();
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false });
  const encoder = new msgpack.Encoder();
  const decoder = new msgpack.Decoder();
  const asBytes = (encoded: unknown) => encoded as Uint8Array;
  return [
    {
      name: "isock",
      encode: (value) => isock.encodeParts(value),
      toBytes: (encoded) => concat(encoded as Uint8Array[]),
      decode: (bytes) => isock.decode(bytes),
    },
    {
      name: "msgpackr",
      encode: (value) => packr.pack(value),
      toBytes: asBytes,
      decode: (bytes) => unpackr.unpack(bytes),
    },
    {
      name: "@msgpack/msgpack",
      encode: (value) => encoder.encode(value),
      toBytes: asBytes,
      decode: (bytes) => decoder.decode(bytes),
    },
  ];
}

/** One row: the nanoseconds per call of each codec, in codec order. */
interface Row {
  readonly message: string;
  readonly operation: "encode" | "decode";
  readonly nanoseconds: number[];
}

function measure(
  codecs: readonly BenchedCodec[],
  messages: readonly BenchedMessage[],
): Row[] {
  const rows: Row[] = [];
  for (const { name, value } of messages) {
    const encodedBytes = codecs.map((codec) => {
      // A codec that gets a value wrong would be fast for nothing.
      const bytes = codec.toBytes(codec.encode(value));
      assert.deepStrictEqual(asUint8Array(codec.decode(bytes)), value);
      return bytes;
    });
    rows.push({
      message: name,
      operation: "encode",
      nanoseconds: nanosecondsPerCall(
        codecs.map((codec) => () => codec.encode(value)),
      ),
    }, {
      message: name,
      operation: "decode",
      nanoseconds: nanosecondsPerCall(
        codecs.map((codec, i) => () => codec.decode(encodedBytes[i])),
      ),
    });
  }
  return rows;
}

/** msgpackr returns binaries as Node Buffers: the same bytes, another class. */
function asUint8Array(value: unknown): unknown {
  return value instanceof Uint8Array
    ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : value;
}

function renderTable(codecs: readonly BenchedCodec[], rows: readonly Row[]) {
  const header = [
    "message",
    "op",
    ...codecs.map((codec) => `${codec.name} ns`),
    `isock ÷ ${codecs[1].name}`,
  ];
  const lines = [header, header.map(() => "---")];
  for (const row of rows) {
    lines.push([
      row.message,
      row.operation,
      ...row.nanoseconds.map(formatNanoseconds),
      (row.nanoseconds[0] / row.nanoseconds[1]).toFixed(2),
    ]);
  }
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

function formatNanoseconds(nanoseconds: number): string {
  return nanoseconds < 100
    ? nanoseconds.toFixed(1)
    : Math.round(nanoseconds).toString();
}

if (import.meta.main) {
  const codecs = await loadCodecs();
  const rows = measure(codecs, MESSAGES);
  console.log(renderTable(codecs, rows));
  if (sink === MESSAGES) console.log("unreachable");
}
