/**
 * The transport of any pair of byte streams (a pipe, a WebSocket stream,
 * an in-memory pair), framed by `FrameDecoderStream` and
 * `FrameEncoderStream`.
 *
 * @module
 */

import { ignore } from "../base/timers.ts";
import { FrameDecoderStream, FrameEncoderStream } from "./framing.ts";
import type {
  FrameReceiver,
  PeerAddress,
  Transport,
  TransportOptions,
} from "./transport.ts";

/**
 * Adapts any pair of byte streams (a pipe, a WebSocket stream, an
 * in-memory pair), framed by {@linkcode FrameDecoderStream} and
 * {@linkcode FrameEncoderStream}.
 *
 * @param readable Bytes from the peer.
 * @param writable Bytes to the peer.
 * @param peer How to describe the peer.
 * @param options Frame size limits.
 * @returns The transport.
 */
export function streamTransport(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  peer: PeerAddress,
  options: TransportOptions,
): Transport {
  const frames = readable.pipeThrough(new FrameDecoderStream(options));
  const encoder = new FrameEncoderStream({ maxFrameSize: 0xffff_ffff });
  const piping = encoder.readable.pipeTo(writable);
  const writer = encoder.writable.getWriter();
  const reader = frames.getReader();
  let isClosed = false;
  let pending = Promise.resolve();
  const close = () => {
    if (isClosed) return;
    isClosed = true;
    reader.cancel().catch(ignore);
    writer.abort().catch(ignore);
  };
  piping.catch(close);
  const transport = {
    peer,
    lastActivity: Date.now(),
    get isCongested() {
      return (writer.desiredSize ?? 1) <= 0;
    },
    start(receiver: FrameReceiver) {
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          transport.lastActivity = Date.now();
          receiver.frame(value, false);
        }
      })().then(
        () => receiver.closed(),
        (error) => receiver.closed(error),
      ).finally(close);
    },
    send(body: readonly Uint8Array[]) {
      if (isClosed) return;
      pending = writer.write(body).catch(close);
    },
    drain: () => pending,
    close,
    ref: ignore,
    unref: ignore,
  };
  return transport;
}
