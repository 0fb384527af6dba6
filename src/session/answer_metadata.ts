/**
 * The metadata an answer (RESULT, ERROR or END) carries back to its caller:
 * handed to the call's `onResponseMetadata`, or turned into the error the
 * call fails with when it was refused on arrival or its taker threw.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import type { ReadAnswerMeta } from "../protocol/message_table.ts";
import type { PendingCall } from "./call.ts";

/**
 * Hands an answer's metadata to its call's taker, if both are there.
 *
 * @param call The call answered.
 * @param answer The answer's metadata, as read.
 * @returns The error the call fails with when the metadata was refused.
 */
export function answerMetadata(
  call: PendingCall,
  answer: ReadAnswerMeta,
): unknown {
  if (answer.metadataError) {
    return new ClientError(
      "PROTOCOL",
      `The answer's metadata was refused: ${answer.metadataError.message}`,
      { cause: answer.metadataError },
    );
  }
  if (answer.metadata !== undefined && call.onMetadata !== undefined) {
    try {
      call.onMetadata(answer.metadata);
    } catch (error) {
      return error;
    }
  }
  return undefined;
}
