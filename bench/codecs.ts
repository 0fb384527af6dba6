/**
 * The codecs the baseline peers can run with: isock's own, so that the
 * baseline differs from isock only in what surrounds the codec, and
 * msgpackr, a widely used MessagePack library, for scale.
 *
 * @module
 */

import { Codec } from "../codec.ts";
// msgpackr's index.js is plain ESM without Node built-ins; bench/main.ts
// installs it with npm into bench/peers (see bench/peers/package.json).
import { Packr, Unpackr } from "./peers/node_modules/msgpackr/index.js";

/** The names `--codec` takes. */
export type CodecName = "isock" | "msgpackr";

/** Every codec name, for checking input. */
export const CODEC_NAMES: readonly CodecName[] = ["isock", "msgpackr"];

/** Turns values into bytes and back. */
export interface BenchCodec {
  /** Encodes a value into bytes the caller may keep. */
  encode(value: unknown): Uint8Array;
  /** Decodes exactly one value. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * Makes a codec by name.
 *
 * @param name Which codec.
 * @returns The codec.
 */
export function createCodec(name: CodecName): BenchCodec {
  if (name === "isock") return new Codec();
  // Records are a msgpackr extension other MessagePack readers do not
  // know; plain maps keep the comparison to a standard codec.
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false });
  return {
    // pack() returns a view of an internal buffer that later calls never
    // overwrite (they write further on, or into a new buffer).
    encode: (value) => packr.pack(value),
    decode: (bytes) => unpackr.unpack(bytes),
  };
}
