/**
 * Streams over a connection, with credit-based flow control (PROTOCOL.md,
 * "Streams"). The receiving side grants credit, a number of items (and,
 * between peers that send batches, of bytes); the sending side pulls from
 * its source only while it has credit. So a slow consumer makes the
 * producer wait, and no side ever holds more than a window.
 *
 * The same two classes serve both directions: a handler's streamed result
 * and a caller's streamed input. Each lives in a file of its own; this
 * module gathers them.
 *
 * @module
 */

export {
  BATCH_WINDOW,
  BYTE_WINDOW,
  DEFAULT_WINDOW,
  TIME_SLICE,
} from "./stream_window.ts";
export {
  isStreamSource,
  type StreamItem,
  Tracked,
  tracked,
} from "./tracked.ts";
export { StreamSender, type StreamSenderPort } from "./stream_sender.ts";
export { StreamReceiver, type StreamReceiverPort } from "./stream_receiver.ts";
