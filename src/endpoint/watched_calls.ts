/**
 * A client's calls through its middleware: a {@linkcode Redial} that runs
 * the chain around each try of a call (numbered by `attempt`) and around
 * each opening of a stream, so the resend rules stay as they are. Used
 * only when middleware is installed.
 *
 * @module
 */

import type { CallOptions, StreamOptions } from "../dispatch/peer.ts";
import {
  type CallInfo,
  type Middleware,
  runMiddleware,
} from "../dispatch/middleware.ts";
import { Metadata } from "../protocol/metadata.ts";
import type { PeerAddress } from "../wire/transport.ts";
import {
  type OpenStream,
  type Redial,
  remainingTime,
  type StreamOpener,
} from "./resend.ts";

/** One try of a call, as the client's middleware sees it. */
class ClientCall implements CallInfo {
  readonly side = "client";
  readonly metadata: Metadata;
  readonly responseMetadata: Metadata = new Metadata();
  readonly signal: AbortSignal | undefined;

  constructor(
    readonly kind: "call" | "stream",
    readonly action: string,
    public data: unknown,
    options: CallOptions | undefined,
    readonly peer: PeerAddress,
    readonly deadline: number | undefined,
    readonly attempt: number,
  ) {
    this.metadata = new Metadata(options?.metadata);
    this.signal = options?.signal;
  }

  /** The options the try is sent with: the chain's metadata, the answer's metadata caught. */
  options<T extends CallOptions>(options: T | undefined): T {
    return {
      ...options,
      metadata: this.metadata,
      onResponseMetadata: (metadata: Metadata) => {
        for (const [key, value] of metadata) {
          this.responseMetadata.set(key, value);
        }
      },
    } as T;
  }

  /** Hands the answer's metadata (as middleware left it) to the caller's `onResponseMetadata`. */
  report(options: CallOptions | undefined): void {
    if (this.responseMetadata.size > 0) {
      options?.onResponseMetadata?.(this.responseMetadata);
    }
  }
}

/**
 * Wraps `redial` so that every try of one call goes through `middleware`.
 *
 * @param redial The client's connector.
 * @param middleware The client's middleware, outermost first.
 * @param peer Where the server is.
 * @param options The call's options, as the caller gave them.
 * @param started When the call started (`performance.now()`): its deadline counts from there.
 * @returns A redial for this one call.
 */
export function watchedRedial(
  redial: Redial,
  middleware: readonly Middleware[],
  peer: PeerAddress,
  options: CallOptions | undefined,
  started: number,
): Redial {
  // Middleware sees the deadline on the Date.now() scale.
  const deadline = options?.timeout
    ? Date.now() + options.timeout - (performance.now() - started)
    : undefined;
  let attempt = 0;
  const call = (name: string, data: unknown, tryOptions?: CallOptions) => {
    if (redial.choose === undefined) {
      return tryOn(peer, name, data, tryOptions);
    }
    // Several servers: the try's server is picked first, for middleware to
    // see. When none can be, the try itself fails the same way, inside it.
    const choosing = performance.now();
    return redial.choose(tryOptions).then(
      (chosen) =>
        tryOn(chosen, name, data, remainingTime(tryOptions, choosing)),
      () => tryOn(peer, name, data, tryOptions),
    );
  };
  const tryOn = (
    server: PeerAddress,
    name: string,
    data: unknown,
    tryOptions?: CallOptions,
  ) => {
    let info: ClientCall;
    try {
      info = new ClientCall(
        "call",
        name,
        data,
        tryOptions,
        server,
        deadline,
        ++attempt,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    return runMiddleware(
      middleware,
      info,
      () => redial.call(name, info.data, info.options(tryOptions)),
    ).finally(() => info.report(tryOptions));
  };
  const open = (
    opener: StreamOpener,
    name: string,
    data: unknown,
    tryOptions: StreamOptions | undefined,
  ): OpenStream => {
    let inner: OpenStream | undefined;
    const number = ++attempt;
    const server = redial.peer ?? peer; // Where `opener` leads.
    async function* items(): AsyncGenerator<unknown, void, undefined> {
      const info = new ClientCall(
        "stream",
        name,
        data,
        tryOptions,
        server,
        deadline,
        number,
      );
      const stream = await runMiddleware(middleware, info, () => {
        inner = opener.openStream(name, info.data, info.options(tryOptions));
        return Promise.resolve(inner.receiver);
      }) as AsyncIterable<unknown>;
      yield* stream;
      info.report(tryOptions);
    }
    return {
      receiver: items(),
      get lastEventId() {
        return inner?.lastEventId;
      },
    };
  };
  return {
    get attempts() {
      return redial.attempts;
    },
    get isClosed() {
      return redial.isClosed;
    },
    call,
    async connected(connectOptions) {
      const opener = await redial.connected(connectOptions);
      return {
        openStream: (name, data, tryOptions) =>
          open(opener, name, data, tryOptions),
      };
    },
    pause: (attempt, limit) => redial.pause(attempt, limit),
  };
}
