/**
 * A call's input sent as a stream: INPUT items go out as the peer's handler
 * grants credit, then INPUT_END (with the error object when the source
 * threw). See PROTOCOL.md, "Streams".
 *
 * @module
 */

import type { WireError } from "../protocol/wire_error.ts";
import { outgoing, type OutgoingMessage } from "../protocol/message_table.ts";
import { BATCH_WINDOW, BYTE_WINDOW, INPUT_WINDOW } from "../protocol/stream.ts";
import { StreamSender } from "../protocol/stream_sender.ts";
import type { PendingCall } from "./call.ts";

/** How a call's input goes out; the outbox implements it. */
export interface InputSender {
  /** Sends a stream item unless the connection is gone; throws when it cannot go. */
  sendChecked(message: OutgoingMessage): void | Promise<void>;
  /** Sends a control message unless the connection is gone. */
  sendIfOpen(message: OutgoingMessage): void;
  /** The error object sent for a thrown value. */
  wireError(code: string, thrown: unknown): WireError;
  /** Whether the peer takes batches of items and byte credit (PROTOCOL.md, "Batches"). */
  readonly peerTakesBatches?: boolean;
  /** Sends a batch of items unless the connection is gone, and gives back its size. */
  sendMeasured?(message: OutgoingMessage): number | Promise<number>;
}

/**
 * Starts sending a call's data as a stream of INPUT messages, as the peer
 * grants credit; the call holds the sender, so settling it stops the source.
 *
 * @param sender How the messages go out.
 * @param id The call's request id.
 * @param call The call the input belongs to.
 * @param source The input items.
 * @param blocked A promise while the peer does not read what is queued.
 */
export function sendInput(
  sender: InputSender,
  id: number,
  call: PendingCall,
  source: AsyncIterable<unknown>,
  blocked: () => Promise<void> | undefined,
): void {
  const batches = sender.peerTakesBatches === true &&
    sender.sendMeasured !== undefined;
  call.input = new StreamSender(
    source,
    {
      item: (value) => sender.sendChecked(outgoing.input(id, value)),
      items: batches
        ? (values) => sender.sendMeasured!(outgoing.inputs(id, values))
        : undefined,
      end: () => sender.sendIfOpen(outgoing.inputEnd(id)),
      fail: (error) =>
        sender.sendIfOpen(
          outgoing.inputEnd(id, sender.wireError("ACTION_FAILED", error)),
        ),
      blocked,
    },
    batches ? BATCH_WINDOW : INPUT_WINDOW,
    batches ? BYTE_WINDOW : undefined,
  );
  call.input.run();
}
