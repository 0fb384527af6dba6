/**
 * `deno run -A bench/decode_attacks.ts [name]`: what hostile MessagePack
 * costs the decoder. Each payload is decoded in a child process of its own
 * (so that one's memory does not count against the next); the child prints
 * how long the decode took, whether it was refused (and the error code),
 * and the peak resident memory of the process.
 *
 * @module
 */

import { Codec } from "../codec.ts";

const MiB = 1 << 20;

/** The hostile payloads, and one dense but ordinary payload to compare. */
const PAYLOADS: Record<string, () => Uint8Array> = {
  /** 16 MiB of `d4 05 80`: an Error of an empty map, three bytes each. */
  errors16: () => arrayOf(16 * MiB, [0xd4, 0x05, 0x80]),
  /** One bigint of 16 MiB. */
  bigint16: () => {
    const length = 16 * MiB;
    const bytes = new Uint8Array(6 + length).fill(0x5a);
    bytes.set([
      0xc9,
      length >>> 24,
      (length >>> 16) & 0xff,
      (length >>> 8) & 0xff,
      length & 0xff,
      0x02,
    ]);
    return bytes;
  },
  /** 60 MiB of empty arrays. */
  arrays60: () => arrayOf(60 * MiB, [0x90]),
  /** 60 MiB of empty maps. */
  maps60: () => arrayOf(60 * MiB, [0x80]),
  /** 60 MiB of empty binaries. */
  binaries60: () => arrayOf(60 * MiB, [0xc4, 0x00]),
  /** 60 MiB of small integers: dense, but ordinary. */
  fixints60: () => arrayOf(60 * MiB, [0x07]),
  /** 60 MiB of pairs of small integers: `[[1, 2], …]`. */
  pairs60: () => arrayOf(60 * MiB, [0x92, 0x01, 0x02]),
};

/** An array (`dd` header) of `byteLength / item.length` copies of `item`. */
function arrayOf(byteLength: number, item: readonly number[]): Uint8Array {
  const count = Math.floor(byteLength / item.length);
  const bytes = new Uint8Array(5 + count * item.length);
  bytes.set([
    0xdd,
    count >>> 24,
    (count >>> 16) & 0xff,
    (count >>> 8) & 0xff,
    count & 0xff,
  ]);
  const pattern = new Uint8Array(item);
  for (let at = 5; at < bytes.length; at += item.length) bytes.set(pattern, at);
  return bytes;
}

function peakRssMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

const name = Deno.args[0];
if (name !== undefined) {
  const bytes = PAYLOADS[name]();
  const before = peakRssMiB();
  const codec = new Codec();
  const start = performance.now();
  let outcome: string;
  try {
    const value = codec.decode(bytes);
    outcome = `decoded (${
      Array.isArray(value) ? value.length + " items" : typeof value
    })`;
  } catch (error) {
    outcome = `refused: ${(error as { code?: string }).code}`;
  }
  const ms = Math.round(performance.now() - start);
  console.log(
    `| ${name} | ${
      (bytes.length / MiB).toFixed(1)
    } MiB | ${ms} ms | ${before} → ${peakRssMiB()} MiB | ${outcome} |`,
  );
} else {
  console.log(
    "| payload | size | decode | peak RSS | outcome |\n|---|---|---|---|---|",
  );
  for (const payload of Object.keys(PAYLOADS)) {
    const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, payload],
    }).output();
    const text = new TextDecoder().decode(stdout).trim();
    console.log(
      text ||
        `| ${payload} | failed: ${
          new TextDecoder().decode(stderr).trim().split("\n").at(-1)
        } |`,
    );
  }
}
