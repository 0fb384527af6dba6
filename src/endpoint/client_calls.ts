/**
 * A client's calls on their way out: the client-wide default deadline, the
 * resend rules, and the middleware run around each try. `Client` hands its
 * public `runAction`, `stream` and `use` straight to it.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import {
  actionName,
  type ActionRef,
  type CallOptions,
  failing,
  invalidAction,
  type StreamCallOptions,
} from "../dispatch/peer.ts";
import { isIdle, type Middleware } from "../dispatch/middleware.ts";
import type { PeerAddress } from "../wire/transport.ts";
import {
  type Redial,
  resendable,
  resumableStream,
  retryCall,
} from "./resend.ts";
import { watchedRedial } from "./watched_calls.ts";
import type { ClientLink } from "./client_link.ts";

/** Sends a client's calls and streams through its connector. */
export class ClientCalls {
  readonly #connector: Redial & Pick<ClientLink, "route">;
  readonly #timeout: number;
  readonly #server: PeerAddress;
  readonly #middleware: Middleware[] = [];

  /**
   * Creates the calls of one client.
   *
   * @param connector Connects, sends and waits between tries; with
   * `route`, each call gets its own way to the servers.
   * @param timeout The client's default deadline of a call (0: none).
   * @param server Where the calls go, as middleware sees it (unless the
   * call's route says where each try went).
   */
  constructor(
    connector: Redial & Pick<ClientLink, "route">,
    timeout: number,
    server: PeerAddress,
  ) {
    this.#connector = connector;
    this.#timeout = timeout;
    this.#server = server;
  }

  /**
   * Runs an action, sending it again when the rules allow.
   *
   * @param action The action, a reference to it, or its name.
   * @param data The input.
   * @param options `timeout` and `signal`.
   * @returns What the action returned.
   */
  run(
    action: ActionRef | string,
    data: unknown,
    options: CallOptions | undefined,
  ): Promise<unknown> {
    const name = actionName(action);
    if (name === undefined) return Promise.reject(invalidAction());
    const callOptions = this.#withDefaultTimeout(options);
    const isIdempotent = isIdempotentAction(action);
    const input = resendable(data);
    // The deadline is fixed now: a call sent again gets what is left of it.
    const started = performance.now();
    const connector = this.#redial(callOptions, started, isIdempotent);
    return connector.call(name, input.data, callOptions).catch((error) =>
      retryCall(
        connector,
        error,
        isIdempotent,
        name,
        input,
        callOptions,
        started,
      )
    );
  }

  /**
   * Runs an action whose result is a stream, resuming tracked streams.
   *
   * @param action The action, a reference to it, or its name.
   * @param data The input.
   * @param options `timeout`, `signal` and `window`.
   * @returns The items.
   */
  stream(
    action: ActionRef | string,
    data: unknown,
    options: StreamCallOptions | undefined,
  ): AsyncIterable<unknown> {
    const name = actionName(action);
    // A stream may last as long as its consumer wants: the client-wide
    // timeout is for calls. A stream's own `timeout` bounds it whole.
    const callOptions = options;
    return {
      [Symbol.asyncIterator]: () =>
        name === undefined ? failing(invalidAction()) : resumableStream(
          this.#redial(
            callOptions,
            performance.now(),
            isIdempotentAction(action),
          ),
          name,
          data,
          callOptions,
        ),
    };
  }

  /**
   * Adds a middleware around every later try, inside those added before.
   *
   * @param middleware `(call, next) => …`.
   * @throws {ClientError} `INVALID_OPTIONS` when it is not a function.
   */
  use(middleware: Middleware): void {
    if (typeof middleware !== "function") {
      throw new ClientError("INVALID_OPTIONS", "use() takes a function.");
    }
    this.#middleware.push(middleware);
  }

  /**
   * The connector (or the call's own route, for several servers), or for
   * middleware a wrapper that runs it around each try.
   */
  #redial(
    options: CallOptions | undefined,
    started: number,
    isIdempotent: boolean,
  ): Redial {
    const redial = this.#connector.route?.(isIdempotent) ?? this.#connector;
    return isIdle(this.#middleware) ? redial : watchedRedial(
      redial,
      this.#middleware,
      this.#server,
      options,
      started,
    );
  }

  #withDefaultTimeout<T extends CallOptions>(
    options: T | undefined,
  ): T | undefined {
    return this.#timeout > 0 && options?.timeout === undefined
      ? { ...options, timeout: this.#timeout } as T
      : options;
  }
}

/** Whether the action is marked idempotent: it may run twice. */
function isIdempotentAction(action: ActionRef | string): boolean {
  return typeof action === "object" && action.idempotent === true;
}
