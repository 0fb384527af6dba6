/**
 * The codecs the baseline peers can run with: isock's own, so that the
 * baseline differs from isock only in what surrounds the codec, and
 * msgpackr, a widely used MessagePack library, for scale.
 *
 * @module
 */

import { Codec } from "../codec.ts";

/**
 * msgpackr's index.js is plain ESM without Node built-ins; bench/main.ts
 * installs it with npm into bench/peers (see bench/peers/package.json). It is
 * loaded only when asked for, so that type-checking the bench needs no
 * install.
 */
const MSGPACKR =
  new URL("./peers/node_modules/msgpackr/index.js", import.meta.url)
    .href;

interface Msgpackr {
  Packr: new (options: { useRecords: boolean }) => {
    pack(value: unknown): Uint8Array;
  };
  Unpackr: new (options: { useRecords: boolean }) => {
    unpack(bytes: Uint8Array): unknown;
  };
}

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
export async function createCodec(name: CodecName): Promise<BenchCodec> {
  if (name === "isock") return new Codec();
  const { Packr, Unpackr }: Msgpackr = await import(MSGPACKR);
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
