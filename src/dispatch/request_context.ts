/**
 * What a handler sees of the call it runs: the `context` argument.
 *
 * @module
 */

import type { ActionContext } from "./action.ts";
import type { ActionCounters } from "./action_stats.ts";
import type { Peer } from "./peer.ts";

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
  /** When the call started (`performance.now()`), for its processing time. */
  startedAt = 0;

  constructor(
    readonly action: string,
    readonly requestId: number,
    readonly peer: Peer,
    readonly identity: unknown,
    readonly deadline: number | undefined,
    readonly lastEventId: string | number | undefined,
  ) {}

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
