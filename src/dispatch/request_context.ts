/**
 * What a handler sees of the call it runs: the `context` argument.
 *
 * @module
 */

import type { ActionContext } from "./action.ts";
import type { ActionCounters } from "./action_stats.ts";
import type { Peer } from "./peer.ts";
import { Metadata } from "../protocol/metadata.ts";

/**
 * What a handler sees of its call. The abort signal is made only when a
 * handler asks for it, so calls that never look cost nothing; a cancel that
 * came earlier is remembered, and the signal is born aborted.
 */
export class RequestContext implements ActionContext {
  #controller: AbortController | undefined;
  #isAborted = false;
  #reason: unknown;
  /** Where the call is counted when it ends, if its server keeps stats. */
  counters: ActionCounters | undefined = undefined;
  /** When the call started (`Date.now()`), for its processing time. */
  startedAt = 0;
  /** Its place among the deadlines its connection watches; `-1` when not watched. */
  queueIndex = -1;
  /**
   * Whether its deadline passed while it ran, and the call was answered
   * `TIMEOUT` for it (and counted, and its id freed).
   */
  isExpired = false;
  /**
   * Whether what the handler answers is dropped: the call was answered
   * `TIMEOUT` already, or the server gave up on it at shutdown (its caller
   * learns of that as the connection closes).
   */
  isAnswerDropped = false;
  #metadata: Metadata | undefined;
  #responseMetadata: Metadata | undefined;

  constructor(
    readonly action: string,
    readonly requestId: number,
    readonly peer: Peer,
    readonly identity: unknown,
    readonly deadline: number | undefined,
    readonly lastEventId: string | number | undefined,
    metadata?: Metadata,
  ) {
    this.#metadata = metadata;
  }

  /** The call's metadata; made empty when first asked for and none came. */
  get metadata(): Metadata {
    return this.#metadata ??= new Metadata();
  }

  /** The answer's metadata; made when first asked for. */
  get responseMetadata(): Metadata {
    return this.#responseMetadata ??= new Metadata();
  }

  /** The answer's metadata if anything asked for it: what goes with the answer. */
  get answerMetadata(): Metadata | undefined {
    return this.#responseMetadata;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#isAborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The answer is no longer wanted: the signal aborts (now, or when first asked for). */
  abort(reason: unknown): void {
    if (this.#isAborted) return;
    this.#isAborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
