/**
 * A server's connections, from the listening socket to the shutdown.
 *
 * Which connections a server takes: every new connection gets a session
 * at once (before any TLS handshake completes, so a half-open connection
 * counts against `maxConnections` and is closed by `handshakeTimeout` like
 * a silent one), and a connection over the limit is refused through a
 * session like any goodbye: a hello, then an `OVERLOADED` goodbye. And
 * what a server is built from ({@linkcode setUpServer}): its config into
 * the frame limits of its connections, the registry of its actions, and
 * the admission.
 *
 * Its listening socket ({@linkcode bindListener}), on any runtime (the wire layer picks the
 * socket API): a failure to bind becomes a `ServerError` that names the
 * address.
 *
 * A graceful shutdown of its connections ({@linkcode retireAll}): each is told the server is
 * going away, running calls get up to the shutdown's timeout to finish,
 * those still running then have their signals aborted and a short grace to
 * return, and then every connection closes.
 *
 * @module
 */

import {
  ClientError,
  type IsockError,
  RemoteError,
  ServerError,
} from "../base/errors.ts";
import type { Authenticator } from "../protocol/auth.ts";
import { MAX_HELLO_SIZE } from "../protocol/hello.ts";
import type { Session } from "../session/session.ts";
import {
  formatAddress,
  type Listener,
  type ListenerEvents,
  type ListenOptions,
  type Transport,
  type TransportOptions,
} from "../wire/transport.ts";
import { MessageCodec } from "../protocol/message_codec.ts";
import type { ActionStatsTable } from "../dispatch/action_stats.ts";
import type { Middleware } from "../dispatch/middleware.ts";
import { ActionRegistry } from "../dispatch/registry.ts";
import { type Endpoint, openSession } from "./open_session.ts";
import type { ServerConfig } from "./server_options.ts";
import { listenSocket } from "../wire/sockets.ts";
import { classifyNetError } from "../wire/net_errors.ts";
import type { TimerHandle } from "../base/timers.ts";

/** The sessions of a server, at most `maxConnections` of them. */
export class Admission {
  /** The most connections at once. */
  readonly maxConnections: number;
  readonly #endpoint: Endpoint;
  readonly #sessions = new Set<Session>();
  /** What a refused connection is told, and the limits it is held to. */
  readonly #refusal: Endpoint;

  /**
   * Creates an `Admission`.
   *
   * @param endpoint The codec, limits and actions of the server.
   * @param maxConnections The most connections at once.
   */
  constructor(endpoint: Endpoint, maxConnections: number) {
    this.#endpoint = endpoint;
    this.maxConnections = maxConnections;
    this.#refusal = {
      ...endpoint,
      // A refused peer may send a hello at most: it is read by no one.
      limits: {
        ...endpoint.limits,
        maxFrameSize: MAX_HELLO_SIZE,
        heartbeatInterval: 0,
      },
      idleTimeout: 0,
    };
  }

  /** The sessions not yet closed, handshake done or not. */
  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  /**
   * Takes a new connection: a session for it, or, over the limit, a
   * refusal.
   *
   * @param transport The new connection; it is owned from now on.
   * @param auth How the server checks its clients.
   * @returns The session, or the error to report for a refused connection.
   *
   * @example
   * ```ts ignore
   * const admitted = admission.admit(transport, auth);
   * if (admitted instanceof ServerError) report(admitted);
   * ```
   */
  admit(transport: Transport, auth: Authenticator): Session | ServerError {
    if (this.#sessions.size >= this.maxConnections) {
      return this.#refuse(transport);
    }
    const session = openSession(transport, this.#endpoint, auth);
    this.#sessions.add(session);
    session.closed.then(() => this.#sessions.delete(session));
    return session;
  }

  /** Answers with a hello and an `OVERLOADED` goodbye, then closes. */
  #refuse(transport: Transport): ServerError {
    // No authentication: the peer is told why at once, whoever it is.
    const session = openSession(transport, this.#refusal, {});
    session.refuse(
      new RemoteError(
        "OVERLOADED",
        `The server has reached its connection limit (maxConnections is ${this.maxConnections}); try again later.`,
      ),
    );
    return new ServerError(
      "OVERLOADED",
      `Refused a connection: maxConnections (${this.maxConnections}) reached.`,
    );
  }
}

/** The parts a `Server` runs with. */
export interface ServerParts {
  /** The frame limits of every accepted connection. */
  readonly frames: TransportOptions;
  /** The actions the server offers. */
  readonly actions: ActionRegistry;
  /** Opens a session for each connection, up to `maxConnections`. */
  readonly admission: Admission;
  /** What every connection (and every transport) serves with. */
  readonly endpoint: Endpoint;
}

/**
 * Builds what a server runs with from its config.
 *
 * @param config The server's options, read.
 * @param stats Where every connection counts its calls.
 * @param middleware The server's middleware, as `use()` fills it.
 * @returns The frame limits, the registry, the admission and the endpoint.
 */
export function setUpServer(
  config: ServerConfig,
  stats: ActionStatsTable,
  middleware: readonly Middleware[],
): ServerParts {
  const { connection, exposeStack } = config;
  const actions = new ActionRegistry(
    (code, message) => new ServerError(code, message),
    { reflection: connection.reflection },
  );
  const frames = {
    maxFrameSize: connection.maxFrameSize,
    maxFirstFrameSize: MAX_HELLO_SIZE,
  };
  const codec = new MessageCodec(connection.extensions, {
    stacks: exposeStack,
  });
  const endpoint: Endpoint = {
    role: "server",
    codec,
    limits: connection,
    actions,
    idleTimeout: config.idleTimeout,
    exposeStack,
    stats,
    middleware,
  };
  const admission = new Admission(endpoint, config.maxConnections);
  return { frames, actions, admission, endpoint };
}

/**
 * Binds the address and starts taking connections.
 *
 * @param options Where, and with which certificate if TLS.
 * @param events Where new connections and accept failures go.
 * @returns The listener.
 * @throws {ServerError} `ADDR_IN_USE` when the port is taken,
 * `LISTEN_FAILED` for other bind failures.
 */
export async function bindListener(
  options: ListenOptions,
  events: ListenerEvents,
): Promise<Listener> {
  try {
    return await listenSocket(options, events);
  } catch (error) {
    throw bindError(
      error,
      options.path === undefined ? options : {
        hostname: options.path,
        port: 0,
        transport: "unix",
      },
    );
  }
}

/**
 * The error of a failed bind, naming the address (IPv6 in brackets).
 *
 * @param error What binding failed with, on whichever runtime.
 * @param where The address asked for.
 * @returns `ADDR_IN_USE` when the port is taken, `LISTEN_FAILED` otherwise.
 */
export function bindError(
  error: unknown,
  where: {
    readonly hostname: string;
    readonly port: number;
    readonly transport?: "tcp" | "unix";
  },
): ServerError {
  const address = formatAddress(where);
  if (classifyNetError(error) === "addr-in-use") {
    return new ServerError(
      "ADDR_IN_USE",
      `Cannot listen on ${address}: the ${
        where.transport === "unix" ? "socket path" : "port"
      } is already in use. Stop the other server, or choose another ${
        where.transport === "unix" ? "path" : "port (0 picks a free one)"
      }.`,
      { cause: error },
    );
  }
  return new ServerError(
    "LISTEN_FAILED",
    `Cannot listen on ${address}: ${(error as Error)?.message ?? error}`,
    { cause: error },
  );
}

/** Whatever runs a peer's calls: a connection's requests, or a NATS caller's. */
export interface Running {
  /** Resolves once none of its calls runs. */
  whenIdle(): Promise<void>;
  /**
   * Gives up on the calls still running: their signals abort, what they
   * answer is dropped.
   *
   * @returns How many it gave up on.
   */
  abortHandlers(reason: IsockError): number;
}

/** What a shutdown needs from a connection (the session implements it). */
export interface Retiring extends Running {
  /** Tells the peer the connection is going away; it sends nothing new. */
  sayGoodbye(): void;
  /**
   * Closes the connection once the peer has closed it, or after `grace` ms.
   *
   * @param grace The longest wait for the peer, in milliseconds.
   * @param reason What calls still waiting reject with.
   */
  retire(grace: number, reason?: IsockError): Promise<void>;
  /**
   * Closes the connection now (what is queued is written first, for a
   * short while at most).
   *
   * @param reason What calls still waiting reject with.
   */
  close(reason?: IsockError): Promise<void>;
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;
}

/** How long shutdown waits for clients to close once their calls are answered. */
const SHUTDOWN_GRACE = 500;

/**
 * How long shutdown waits, once it gave up on the calls that outlived its
 * timeout, for their handlers to return: their `finally` blocks run
 * before the connections close and the shutdown ends.
 */
const ABORT_GRACE = 250;

/**
 * Says goodbye on every connection, waits for their running calls (for
 * `timeout` ms at most), gives up on those still running and gives them
 * {@linkcode ABORT_GRACE} ms to return, then closes every connection: at
 * once where a call was given up on (its client waits for nothing else),
 * elsewhere once its client closed it, or after {@linkcode SHUTDOWN_GRACE} ms.
 *
 * @param sessions The connections open when the shutdown began.
 * @param timeout The longest wait for running calls, in milliseconds.
 * @returns Resolves once every connection is closed.
 */
export async function retireAll(
  sessions: readonly Retiring[],
  timeout: number,
): Promise<void> {
  for (const session of sessions) session.sayGoodbye();
  const givenUp = await stopRunning(sessions, timeout);
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down.",
  );
  // Clients close when their calls are answered; wait a moment for them.
  // One whose call was given up on waits for an answer that will not come.
  await Promise.all(sessions.map(async (session) => {
    await (givenUp.has(session)
      ? session.close(reason)
      : session.retire(SHUTDOWN_GRACE, reason));
    await session.closed;
  }));
}

/**
 * Waits for the calls of `running` to end, `timeout` ms at most; then
 * gives up on those still running (their signals' reason a
 * `CONNECTION_CLOSED` `ClientError`), and waits {@linkcode ABORT_GRACE} ms
 * more at most for their handlers to return.
 *
 * @param running What runs the calls.
 * @param timeout The longest wait, in milliseconds.
 * @returns Those of `running` that had calls given up on.
 */
export async function stopRunning<T extends Running>(
  running: readonly T[],
  timeout: number,
): Promise<ReadonlySet<T>> {
  const givenUp = new Set<T>();
  if (await idleWithin(running, timeout)) return givenUp;
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down while the call ran: it outlived the shutdown timeout.",
  );
  for (const calls of running) {
    if (calls.abortHandlers(reason) > 0) givenUp.add(calls);
  }
  await idleWithin(running, ABORT_GRACE);
  return givenUp;
}

/** Whether every call of `running` ended within `ms` milliseconds. */
async function idleWithin(
  running: readonly Running[],
  ms: number,
): Promise<boolean> {
  let timer: TimerHandle | undefined;
  const isIdle = await Promise.race([
    Promise.all(running.map((calls) => calls.whenIdle())).then(() => true),
    // A timer that keeps the process alive: the shutdown is awaited.
    new Promise<boolean>((resolve) =>
      timer = setTimeout(() => resolve(false), ms)
    ),
  ]);
  clearTimeout(timer);
  return isIdle;
}
