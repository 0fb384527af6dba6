/**
 * What a caller does with each message an instance sends about a call over
 * NATS (PROTOCOL.md, "Over NATS", "A call"): hands it to the session's
 * {@linkcode OutgoingCalls}, as a session would.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { type Message, MessageType } from "../protocol/messages.ts";
import type { OutgoingCalls } from "../session/outgoing_calls.ts";

/**
 * Hands a whole message (not a fragment) from an instance to its call.
 *
 * @param calls The caller's calls.
 * @param message The message.
 * @param id The call's request id, from the subject it came on.
 * @returns Whether it was the call's last message.
 * @throws {ClientError} `PROTOCOL` for a message an instance never sends.
 */
export function deliver(
  calls: OutgoingCalls,
  message: Message,
  id: number,
): boolean {
  switch (message.type) {
    case MessageType.RESULT:
      calls.result(message);
      return true;
    case MessageType.ERROR:
      calls.error(id, message.error, message);
      return true;
    case MessageType.END:
      calls.end(message);
      return true;
    case MessageType.ITEM:
      calls.item(message);
      return false;
    case MessageType.INPUT_CREDIT:
      calls.grantInput(id, message.count);
      return false;
    case MessageType.INPUT_STOP:
      calls.stopInput(id);
      return false;
    case MessageType.PING:
      return false; // Still running.
    default:
      throw new ClientError(
        "PROTOCOL",
        `Message type ${message.type} is not sent to a caller over NATS.`,
      );
  }
}
