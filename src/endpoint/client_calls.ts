/**
 * A client's calls on their way out: the client-wide default deadline, the
 * resend rules, and the middleware run around each try. `Client` hands its
 * public `runAction`, `stream` and `use` straight to it. And what a client
 * is built from ({@linkcode openClientLink}): its config, read once, into
 * its link to the servers (one connector, a pool of them, or a
 * transport's link), the registry of the actions it offers, and the calls.
 *
 * A client's calls through its middleware: a {@linkcode Redial} that runs
 * the chain around each try of a call (numbered by `attempt`) and around
 * each opening of a stream, so the resend rules stay as they are. Used
 * only when middleware is installed.
 *
 * @module
 */

import { Deadline } from "../base/deadline.ts";
import { ClientError } from "../base/errors.ts";
import {
  actionName,
  type ActionRef,
  type CallOptions,
  failing,
  invalidAction,
  type StreamCallOptions,
  type StreamOptions,
} from "../dispatch/peer.ts";
import {
  type CallInfo,
  isIdle,
  type Middleware,
  runMiddleware,
} from "../dispatch/middleware.ts";
import { invalidTimeout, type SentOptions } from "../session/outgoing_calls.ts";
import type { PeerAddress } from "../wire/transport.ts";
import { urlPeer } from "../wire/websocket_transport.ts";
import {
  type OpenStream,
  type Redial,
  resendable,
  resumableStream,
  retryCall,
  type StreamOpener,
} from "./resend.ts";
import type { ClientLink } from "./client_transport.ts";
import { MessageCodec } from "../protocol/message_codec.ts";
import { ActionRegistry } from "../dispatch/registry.ts";
import { Backoff } from "./backoff.ts";
import type { ClientConfig, ClientEventMap } from "./client_options.ts";
import { Connector } from "./connector.ts";
import type { ConnectDetail, LeaveReason } from "./client_event.ts";
import { balanceNamed, ClientPool } from "./client_pool.ts";
import { Metadata } from "../protocol/metadata.ts";

/** Sends a client's calls and streams through its connector. */
export class ClientCalls {
  readonly #connector: Redial & Pick<ClientLink, "choice">;
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
   * call's server choice says where each try went).
   */
  constructor(
    connector: Redial & Pick<ClientLink, "choice">,
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
    const timeout = options?.timeout ?? this.#timeout;
    const invalid = invalidTimeout(timeout);
    if (invalid !== undefined) return Promise.reject(invalid);
    const isIdempotent = isIdempotentAction(action);
    const input = resendable(data);
    // The deadline is fixed now: a call sent again gets what is left of it.
    const sent = sentOptions(options, Deadline.after(timeout, options?.signal));
    const connector = this.#redial(sent, isIdempotent);
    return connector.call(name, input.data, sent).catch((error) =>
      retryCall(connector, error, isIdempotent, name, input, sent)
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
    // timeout is for calls. A stream's own `timeout` bounds it whole, from
    // when it is iterated.
    return {
      [Symbol.asyncIterator]: () => {
        if (name === undefined) return failing(invalidAction());
        const invalid = invalidTimeout(options?.timeout ?? 0);
        if (invalid !== undefined) return failing(invalid);
        const sent = sentOptions(
          options,
          Deadline.after(options?.timeout, options?.signal),
        );
        return resumableStream(
          this.#redial(sent, isIdempotentAction(action)),
          name,
          data,
          sent,
        );
      },
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
   * The connector (or the call's own server choice, for several servers), or for
   * middleware a wrapper that runs it around each try.
   */
  #redial(options: SentOptions, isIdempotent: boolean): Redial {
    const redial = this.#connector.choice?.(isIdempotent) ?? this.#connector;
    return isIdle(this.#middleware)
      ? redial
      : middlewareRedial(redial, this.#middleware, this.#server, options);
  }
}

/** A call with no options and no deadline: most calls, sent without a copy. */
const UNTIMED: SentOptions = Object.freeze({ deadline: Deadline.NONE });

/** The options a call is sent with: the caller's, and the call's deadline. */
function sentOptions<T extends CallOptions>(
  options: T | undefined,
  deadline: Deadline,
): T & SentOptions {
  return options === undefined && deadline === Deadline.NONE
    ? UNTIMED as T & SentOptions
    : { ...options as T, deadline };
}

/** Whether the action is marked idempotent: it may run twice. */
function isIdempotentAction(action: ActionRef | string): boolean {
  return typeof action === "object" && action.idempotent === true;
}

/**
 * Dispatches one of the client's events, about the server `endpoint`;
 * for a `disconnect` of one of several, why it left the rotation.
 */
export type ClientEmit = <K extends keyof ClientEventMap & string>(
  type: K,
  detail: ClientEventMap[K]["detail"],
  endpoint?: ConnectDetail,
  reason?: LeaveReason,
) => void;

/** The parts a `Client` runs with. */
export interface ClientParts {
  /** Opens, reopens and closes the connection. */
  readonly link: ClientLink;
  /** The actions the client offers its server. */
  readonly actions: ActionRegistry;
  /** Sends calls and streams through the connector. */
  readonly calls: ClientCalls;
}

/**
 * Builds what a client runs with from its config: one way for each way to
 * reach servers.
 *
 * @param config The client's options, read.
 * @param emit Dispatches the client's `connect`, `disconnect` and `error`.
 * @returns The link, the action registry and the calls.
 */
export function openClientLink(
  config: ClientConfig,
  emit: ClientEmit,
): ClientParts {
  const { connection, reach } = config;
  const actions = new ActionRegistry(
    (code, message) => new ClientError(code, message),
    { reflection: connection.reflection },
  );
  const codec = new MessageCodec(connection.extensions);
  const attempts = Math.max(1, config.retry);
  const backoff = new Backoff(config.retryDelay, config.maxRetryDelay);
  switch (reach.kind) {
    case "transport": {
      // The service, as the events' detail says where the calls go.
      const at: ConnectDetail = {
        hostname: reach.link.address.hostname,
        port: 0,
      };
      const link = reach.link.openLink({
        codec,
        maxFrameSize: connection.maxFrameSize,
        attempts,
        backoff,
        events: {
          connect: () => emit("connect", at, at),
          disconnect: (reason) => emit("disconnect", reason, at),
          error: (error) => emit("error", error, at),
        },
      });
      const calls = new ClientCalls(link, config.timeout, reach.link.address);
      return { link, actions, calls };
    }
    case "endpoints": {
      const pool = new ClientPool(
        reach.servers.map((address) => ({ ...address, ...shared(config) })),
        { role: "client", codec, limits: connection, actions },
        attempts,
        backoff,
        balanceNamed(reach.balance),
        {
          connect: (at) => emit("connect", at, at),
          disconnect: (reason, at, leaving) =>
            emit("disconnect", reason, at, leaving),
          error: (error, at) => emit("error", error, at),
        },
      );
      const calls = new ClientCalls(pool, config.timeout, pool.peers[0]);
      return { link: pool, actions, calls };
    }
    case "url": {
      const peer = urlPeer(reach.url);
      const detail: ConnectDetail = {
        hostname: peer.hostname,
        port: peer.port,
      };
      const connector = new Connector(
        { ...detail, url: reach.url, ...shared(config) },
        { role: "client", codec, limits: connection, actions },
        attempts,
        backoff,
        {
          connect: () => emit("connect", detail, detail),
          disconnect: (reason) => emit("disconnect", reason, detail),
          error: (error) => emit("error", error, detail),
        },
      );
      const calls = new ClientCalls(connector, config.timeout, peer);
      return { link: connector, actions, calls };
    }
    case "server": {
      const { hostname, port, path } = reach.server;
      const detail: ConnectDetail = path === undefined
        ? { hostname, port }
        : { hostname, port: 0, path };
      const connector = new Connector(
        { hostname, port, path, ...shared(config) },
        { role: "client", codec, limits: connection, actions },
        attempts,
        backoff,
        {
          connect: () => emit("connect", detail, detail),
          disconnect: (reason) => emit("disconnect", reason, detail),
          error: (error) => emit("error", error, detail),
        },
      );
      const calls = new ClientCalls(connector, config.timeout, {
        hostname,
        port,
        transport: "tcp",
      });
      return { link: connector, actions, calls };
    }
  }
}

/** What every server of a client is reached with. */
function shared(config: ClientConfig) {
  return {
    tls: config.tls,
    secret: config.connection.secret,
    credentials: config.credentials,
  };
}

/** One try of a call, as the client's middleware sees it. */
class TryInfo implements CallInfo {
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
 * @param options The call's options, with the deadline made when it
 * started.
 * @returns A redial for this one call.
 */
export function middlewareRedial(
  redial: Redial,
  middleware: readonly Middleware[],
  peer: PeerAddress,
  options: SentOptions,
): Redial {
  // Middleware sees the deadline on the Date.now() scale.
  const deadline = options.deadline.isSet
    ? Date.now() + options.deadline.left()
    : undefined;
  let attempt = 0;
  const call = (name: string, data: unknown, tryOptions: SentOptions) => {
    if (redial.choose === undefined) {
      return tryOn(peer, name, data, tryOptions);
    }
    // Several servers: the try's server is picked first, for middleware to
    // see. When none can be, the try itself fails the same way, inside it.
    return redial.choose(tryOptions).then(
      (chosen) => tryOn(chosen, name, data, tryOptions),
      () => tryOn(peer, name, data, tryOptions),
    );
  };
  const tryOn = (
    server: PeerAddress,
    name: string,
    data: unknown,
    tryOptions: SentOptions,
  ) => {
    let info: TryInfo;
    try {
      info = new TryInfo(
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
    tryOptions: (StreamOptions & SentOptions) | undefined,
  ): OpenStream => {
    let inner: OpenStream | undefined;
    const number = ++attempt;
    const server = redial.peer ?? peer; // Where `opener` leads.
    async function* items(): AsyncGenerator<unknown, void, undefined> {
      const info = new TryInfo(
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
    pause: (attempt, until) => redial.pause(attempt, until),
  };
}
