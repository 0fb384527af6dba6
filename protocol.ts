/**
 * isock's wire format without the rest of isock: the length-prefixed
 * frames its connections are made of, as web streams, and the protocol
 * version a hello announces. For a peer written from PROTOCOL.md, a proxy
 * that looks at frames, or tests that speak the protocol by hand.
 *
 * @example Frames out and back in
 * ```ts
 * import {
 *   FrameDecoderStream,
 *   FrameEncoderStream,
 *   PROTOCOL_VERSION,
 * } from "@isock/isock/protocol";
 * import assert from "node:assert/strict";
 *
 * const frames = ReadableStream.from([new Uint8Array([1, 2, 3])])
 *   .pipeThrough(new FrameEncoderStream())
 *   .pipeThrough(new FrameDecoderStream());
 * assert.deepStrictEqual(await Array.fromAsync(frames), [new Uint8Array([1, 2, 3])]);
 * assert.equal(typeof PROTOCOL_VERSION, "number");
 * ```
 *
 * @module
 */

export {
  FrameDecoderStream,
  type FrameDecoderStreamOptions,
  FrameEncoderStream,
  type FrameEncoderStreamOptions,
} from "./src/wire/framing.ts";
export { PROTOCOL_VERSION } from "./src/protocol/message_type.ts";
