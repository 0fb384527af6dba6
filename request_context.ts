/**
 * What a handler sees of the call it runs: the `context` argument.
 *
 * @module
 */

import type { ActionContext } from "./action.ts";
import type { Peer } from "./peer.ts";

/**
 * What a handler sees of its call. The abort signal is made only when a
 * handler asks for it, so calls that never look cost nothing.
 */
export class RequestContext implements ActionContext {
  #controller: AbortController | undefined;

  readonly #watch: (context: RequestContext) => void;

  constructor(
    readonly action: string,
    readonly requestId: number,
    readonly peer: Peer,
    readonly identity: unknown,
    readonly deadline: number | undefined,
    readonly lastEventId: string | number | undefined,
    watch: (context: RequestContext) => void,
  ) {
    this.#watch = watch;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      this.#watch(this);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.#controller?.abort(reason);
  }
}
