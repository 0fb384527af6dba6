/**
 * The server: a listener, the actions it offers, and the connections of
 * its clients.
 *
 * @module
 */

import type { Action, ActionHandler, ActionRef } from "./action.ts";
import type { Peer } from "./src/dispatch/peer.ts";
import { ActionRegistry } from "./src/dispatch/registry.ts";
import {
  type Authenticate,
  type Authenticator,
  importSecret,
} from "./src/protocol/auth.ts";
import { checkExtensions } from "./codec.ts";
import { IsockEventTarget } from "./src/base/events.ts";
import { ClientError, ServerError } from "./src/base/errors.ts";
import type { Extension } from "./src/codec/extension.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "./src/wire/framing.ts";
import { checkIntegerOption } from "./src/base/options.ts";
import {
  MAX_HELLO_SIZE,
  MessageCodec,
  MessageType,
  NONCE_SIZE,
  PROTOCOL_VERSION,
} from "./src/protocol/messages.ts";
import { Session } from "./src/session/session.ts";
import { connTransport } from "./src/wire/conn_transport.ts";
import { socketTransport } from "./src/wire/socket_transport.ts";
import type { Transport, TransportOptions } from "./src/wire/transport.ts";
import { concat } from "./src/base/bytes.ts";
import net from "node:net";
import tls from "node:tls";

/** Options of {@linkcode Server}. */
export interface ServerOptions {
  /**
   * The address to listen on. The default takes connections from this
   * machine only; use `"0.0.0.0"` (or `"::"`) to take them from the network.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port to listen on; 0 picks a free one, which
   * {@linkcode Server.listen} returns.
   *
   * @default {0}
   */
  port?: number;
  /**
   * Classes that travel as themselves; clients must register the same.
   *
   * @default {[]}
   */
  extensions?: readonly Extension[];
  /**
   * The largest request accepted, in bytes. A client that sends a larger
   * frame is disconnected; clients learn the limit in the hello and refuse
   * such calls themselves.
   *
   * @default {67108864}
   */
  maxFrameSize?: number;
  /**
   * How long a new connection may take to say hello (and authenticate), in
   * milliseconds, before it is closed. Catches peers that connect and say
   * nothing, or trickle their hello.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds between heartbeat pings. A client silent for three
   * intervals (a machine that vanished without closing its connection) is
   * disconnected, and its handlers' signals abort. 0 turns heartbeats off.
   *
   * @default {10000}
   */
  heartbeatInterval?: number;
  /**
   * Milliseconds a connection may stay without calls before the server
   * closes it (the client reconnects by itself on its next call). 0 keeps
   * idle connections forever.
   *
   * @default {300000}
   */
  idleTimeout?: number;
  /**
   * The most clients connected at once. Further connections get an
   * `OVERLOADED` goodbye and are closed.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * The most calls one connection may have running at once. Further calls
   * are answered at once with `OVERLOADED` instead of queueing without
   * bound.
   *
   * @default {1000}
   */
  maxInFlight?: number;
  /**
   * Whether error stacks (and the stacks of their causes) are sent to
   * clients. Stacks show file paths and code structure: by default they go
   * only to clients of a loopback-only server.
   *
   * @default {true when hostname is a loopback address, false otherwise}
   */
  exposeStack?: boolean;
  /**
   * Serve over TLS with this certificate chain and private key (PEM).
   * Clients connect with their `tls` option.
   */
  tls?: ServerTlsOptions;
  /**
   * A shared secret clients must prove they know (challenge and response,
   * HMAC-SHA256 over fresh nonces; the secret itself never travels). A
   * client without it is refused with `UNAUTHORIZED` before any action runs.
   */
  secret?: string | Uint8Array;
  /**
   * Checks the `credentials` a client sends (a token, a user and password…)
   * and returns who it is, which handlers see as `context.identity`.
   * Throwing, or returning `false`, `null` or `undefined`, refuses the
   * client with `UNAUTHORIZED`. Use it with `tls` unless the credentials may
   * be seen on the network.
   */
  authenticate?: Authenticate;
}

/** The certificate and key of a TLS server, PEM-encoded. */
export interface ServerTlsOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** What a server's `disconnect` event carries. */
export interface DisconnectDetail {
  /** The client that went away (the same object as in `server.peers` and `context.peer`). */
  peer: Peer;
  /** Why, when it was not a clean close. */
  error?: Error;
}

/** What a server's `error` event carries: a problem with one client, or with accepting. */
export interface ServerErrorDetail {
  /** The client concerned, when there is one. */
  peer?: Peer;
  /** What went wrong. */
  error: unknown;
}

/** The events a {@linkcode Server} dispatches, as `CustomEvent`s. */
export interface ServerEventMap {
  /** A client completed its handshake. */
  connect: CustomEvent<Peer>;
  /** A client's connection closed. */
  disconnect: CustomEvent<DisconnectDetail>;
  /** A client broke the protocol or failed to authenticate, or accepting failed. */
  error: CustomEvent<ServerErrorDetail>;
}

/** Options of {@linkcode Server.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long running calls may take to finish, in milliseconds. After it,
   * their handlers' signals abort and the connections close anyway.
   *
   * @default {10000}
   */
  timeout?: number;
}

/** Where a server listens. */
export interface ServerAddress {
  /** The IP address. */
  hostname: string;
  /** The port. */
  port: number;
}

type ServerState = "new" | "listening" | "closing" | "closed";

/**
 * Serves actions to clients over TCP: one persistent connection per client,
 * many calls in flight on each, answered in whatever order they finish.
 *
 * @example Serve an action, call it, shut down
 * ```ts
 * import { action, Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const echo = action("echo", (data: string) => data);
 *
 * await using server = new Server({ hostname: "127.0.0.1", port: 0 });
 * server.addAction(echo);
 * const { port } = await server.listen();
 *
 * await using client = new Client({ hostname: "127.0.0.1", port });
 * assert.equal(await client.runAction(echo, "hi"), "hi");
 * ```
 */
export class Server extends IsockEventTarget<ServerEventMap>
  implements AsyncDisposable {
  readonly #hostname: string;
  readonly #port: number;
  readonly #options: ServerOptions;
  readonly #sessionOptions: {
    maxFrameSize: number;
    handshakeTimeout: number;
    heartbeatInterval: number;
    idleTimeout: number;
    maxInFlight: number;
    exposeStack: boolean;
  };
  readonly #maxConnections: number;
  readonly #codec: MessageCodec;
  readonly #actions = new ActionRegistry(
    (code, message) => new ServerError(code, message),
  );
  readonly #sessions = new Set<Session>();
  #auth: Authenticator = {};
  #state: ServerState = "new";
  #listener: Listening | undefined;
  #accepting: Promise<void> | undefined;
  #shuttingDown: Promise<void> | undefined;
  readonly #finished = Promise.withResolvers<void>();

  /**
   * Creates a `Server`.
   *
   * @param options Where to listen, extensions, limits, TLS and authentication.
   * @throws {ServerError} `INVALID_OPTIONS` for a bad option.
   * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
   */
  constructor(options: ServerOptions = {}) {
    super();
    this.#options = options;
    this.#hostname = options.hostname ?? "127.0.0.1";
    this.#port = serverOption("port", options.port ?? 0, 0, 65535);
    this.#sessionOptions = {
      maxFrameSize: serverOption(
        "maxFrameSize",
        options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
        MAX_HELLO_SIZE,
        0xffff_ffff,
      ),
      handshakeTimeout: serverOption(
        "handshakeTimeout",
        options.handshakeTimeout ?? 10_000,
        1,
        MAX_TIMER,
      ),
      heartbeatInterval: serverOption(
        "heartbeatInterval",
        options.heartbeatInterval ?? 10_000,
        0,
        MAX_TIMER,
      ),
      idleTimeout: serverOption(
        "idleTimeout",
        options.idleTimeout ?? 300_000,
        0,
        MAX_TIMER,
      ),
      maxInFlight: serverOption(
        "maxInFlight",
        options.maxInFlight ?? 1_000,
        1,
        2 ** 31,
      ),
      exposeStack: options.exposeStack ?? isLoopback(this.#hostname),
    };
    this.#maxConnections = serverOption(
      "maxConnections",
      options.maxConnections ?? 10_000,
      1,
      2 ** 31,
    );
    if (options.secret !== undefined && options.secret.length === 0) {
      throw new ServerError("INVALID_OPTIONS", "Option secret is empty.");
    }
    this.#codec = new MessageCodec(checkExtensions(options.extensions ?? []), {
      stacks: this.#sessionOptions.exposeStack,
    });
  }

  /**
   * Offers an action to clients. Actions added while serving are available
   * at once.
   *
   * @param action An action: a name and a handler.
   * @returns This server, to chain calls.
   * @throws {ServerError} `INVALID_ACTION` when `action` is not an action,
   * `DUPLICATE_ACTION` when its name is taken.
   *
   * @example
   * ```ts
   * import { action, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const server = new Server().addAction(action("time", () => new Date()));
   * assert.deepStrictEqual(server.actionNames, ["time"]);
   * ```
   */
  addAction<I, O>(action: Action<I, O>): this;
  /**
   * Offers an action given as a reference and a handler, for handlers that
   * use the server's state (a closure over it).
   *
   * @param ref The typed reference both sides share.
   * @param handler Runs the action; its types come from `ref`.
   * @returns This server, to chain calls.
   * @throws {ServerError} `INVALID_ACTION` when `ref` is not a reference or
   * `handler` not a function, `DUPLICATE_ACTION` when the name is taken.
   *
   * @example Share state between actions
   * ```ts
   * import { action, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const remember = action<string, number>("remember");
   * const history: string[] = [];
   * const server = new Server()
   *   .addAction(remember, (item) => history.push(item));
   * assert.deepStrictEqual(server.actionNames, ["remember"]);
   * ```
   */
  addAction<I, O>(ref: ActionRef<I, O>, handler: ActionHandler<I, O>): this;
  addAction<I, O>(
    action: ActionRef<I, O>,
    handler?: ActionHandler<I, O>,
  ): this {
    this.#actions.add(action, handler);
    return this;
  }

  /**
   * Stops offering an action. Calls already running finish.
   *
   * @param action The action, a reference to it, or its name.
   * @returns Whether an action was removed.
   *
   * @example
   * ```ts
   * import { action, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const server = new Server().addAction(action("time", () => new Date()));
   * assert.equal(server.removeAction("time"), true);
   * assert.deepStrictEqual(server.actionNames, []);
   * ```
   */
  removeAction(action: string | ActionRef): boolean {
    return this.#actions.remove(action);
  }

  /** The names of the actions offered, in the order they were added. */
  get actionNames(): readonly string[] {
    return this.#actions.names;
  }

  /**
   * The clients connected now (their handshake done), to call the actions
   * they offer: `for (const peer of server.peers) peer.runAction(notify, …)`.
   */
  get peers(): readonly Peer[] {
    return Object.freeze(
      [...this.#sessions].filter((session) => session.isOpen).map((session) =>
        session.peer
      ),
    );
  }

  /** How many clients are connected right now. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** Where the server listens, once {@linkcode Server.listen} resolved. */
  get addr(): ServerAddress | undefined {
    if (this.#listener === undefined) return undefined;
    const { hostname, port } = this.#listener;
    return { hostname, port };
  }

  /**
   * Resolves once the server has shut down, like Python's
   * `serve_forever()` returning. Await it to serve until something calls
   * {@linkcode Server.shutdown}.
   */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Binds the address and starts taking connections.
   *
   * @returns Where the server listens (the real port when 0 was asked for).
   * @throws {ServerError} `ADDR_IN_USE` when the port is taken,
   * `LISTEN_FAILED` for other bind failures, `ALREADY_LISTENING` when
   * called twice or after a shutdown.
   */
  async listen(): Promise<ServerAddress> {
    if (this.#state !== "new") {
      throw new ServerError(
        "ALREADY_LISTENING",
        this.#state === "listening"
          ? `This server already listens on port ${this.addr?.port}.`
          : "This server was shut down; create a new one.",
      );
    }
    this.#state = "listening";
    const { secret, authenticate, tls } = this.#options;
    this.#auth = {
      key: secret === undefined ? undefined : await importSecret(secret),
      authenticate,
    };
    if (this.#state !== "listening") {
      throw new ServerError(
        "LISTEN_FAILED",
        "The server was shut down while it was starting.",
      );
    }
    try {
      this.#listener = tls === undefined
        ? this.#listenTcp()
        : await this.#listenTls(tls);
    } catch (error) {
      this.#state = "new";
      throw this.#bindError(error);
    }
    return this.addr!;
  }

  #listenTcp(): Listening {
    const listener = Deno.listen({
      hostname: this.#hostname,
      port: this.#port,
      transport: "tcp",
    });
    this.#accepting = this.#acceptLoop(listener);
    return {
      ...listener.addr,
      close: () => listener.close(),
    };
  }

  /**
   * Listens through `node:tls`, not `Deno.listenTls`: a Deno `TlsConn`
   * closed before its handshake completes keeps its socket (Deno 2.9), so
   * peers that connect and say nothing would pile up as open files. Here
   * the plain socket is held, and destroyed with its TLS session.
   */
  async #listenTls(options: ServerTlsOptions): Promise<Listening> {
    const context = tls.createSecureContext({
      cert: options.cert,
      key: options.key,
    });
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: context,
      });
      this.#serve(socketTransport(secure, this.#frameOptions, socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.#hostname, port: this.#port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // Out of file descriptors, say: the server goes on listening.
    server.on("error", (error: Error) => this.emit("error", { error }));
    const { address, port } = server.address() as net.AddressInfo;
    return { hostname: address, port, close: () => server.close() };
  }

  get #frameOptions(): TransportOptions {
    return {
      maxFrameSize: this.#sessionOptions.maxFrameSize,
      maxFirstFrameSize: MAX_HELLO_SIZE,
    };
  }

  #bindError(error: unknown): ServerError {
    const where = `${this.#hostname}:${this.#port}`;
    if (
      error instanceof Deno.errors.AddrInUse ||
      (error as { code?: unknown })?.code === "EADDRINUSE"
    ) {
      return new ServerError(
        "ADDR_IN_USE",
        `Cannot listen on ${where}: the port is already in use. Stop the other server, or choose another port (0 picks a free one).`,
        { cause: error },
      );
    }
    return new ServerError(
      "LISTEN_FAILED",
      `Cannot listen on ${where}: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }

  async #acceptLoop(
    listener: Deno.Listener<Deno.Conn, Deno.NetAddr>,
  ): Promise<void> {
    while (this.#state === "listening") {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#state !== "listening") return;
        if (error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors, or a connection reset before it was
        // accepted: pause a moment rather than spin, then go on.
        this.emit("error", { error });
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
      this.#serve(connTransport(conn, this.#frameOptions));
    }
  }

  /**
   * Serves a new connection. Its session exists from the start, before any
   * TLS handshake completes, so a half-open connection counts against
   * `maxConnections` and is closed by `handshakeTimeout` like a silent one.
   */
  #serve(transport: Transport): void {
    if (this.#state !== "listening") {
      transport.close();
      return;
    }
    if (this.#sessions.size >= this.#maxConnections) {
      this.#refuse(transport);
      return;
    }
    const session = new Session(
      transport,
      {
        ...this.#sessionOptions,
        codec: this.#codec,
        role: "server",
        actions: this.#actions.find,
        auth: this.#auth,
      },
    );
    this.#sessions.add(session);
    session.ready.then(
      () => this.emit("connect", session.peer),
      (error) => this.emit("error", { peer: session.peer, error }),
    );
    session.closed.then(() => {
      this.#sessions.delete(session);
      const error = session.endReason;
      this.emit(
        "disconnect",
        error ? { peer: session.peer, error } : { peer: session.peer },
      );
    });
  }

  /** Answers a connection over the limit with a hello and an `OVERLOADED` goodbye, then closes it. */
  #refuse(transport: Transport): void {
    const frames = [
      this.#codec.encodeHello({
        version: PROTOCOL_VERSION,
        maxFrameSize: MAX_HELLO_SIZE,
        nonce: new Uint8Array(NONCE_SIZE),
        authRequired: false,
      }),
      concat(this.#codec.encode([MessageType.GOODBYE, {
        code: "OVERLOADED",
        name: "RemoteError",
        message:
          `The server has reached its connection limit (maxConnections is ${this.#maxConnections}); try again later.`,
      }])),
    ];
    this.emit("error", {
      error: new ServerError(
        "OVERLOADED",
        `Refused a connection: maxConnections (${this.#maxConnections}) reached.`,
      ),
    });
    // Whatever the peer sends is not read as requests.
    transport.start({ frame: ignore, closed: ignore });
    for (const body of frames) transport.send([body]);
    // A peer that neither reads nor finishes its TLS handshake holds the
    // socket for a short while at most.
    let timer: ReturnType<typeof setTimeout> | undefined;
    Promise.race([
      transport.drain(),
      new Promise((resolve) =>
        timer = setTimeout(
          resolve,
          Math.min(REFUSE_GRACE, this.#sessionOptions.handshakeTimeout),
        )
      ),
    ]).finally(() => {
      clearTimeout(timer);
      transport.close();
    });
  }

  /**
   * Shuts down gracefully: stops taking connections, tells each client the
   * server is going away (their later calls fail with `CONNECTION_CLOSED`
   * or go to a new connection), lets running calls finish (for
   * `timeout` ms at most), then closes every connection. Safe to call more
   * than once; later calls return the first one's promise.
   *
   * @param options How long to wait for running calls.
   * @returns Resolves once everything is closed.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shuttingDown ??= this.#shutdown(
      serverOption("timeout", options.timeout ?? 10_000, 0, 2 ** 31 - 1),
    );
    return this.#shuttingDown;
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#state = "closing";
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    const sessions = [...this.#sessions];
    for (const session of sessions) session.sayGoodbye();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(sessions.map((session) => session.whenIdle())),
      new Promise((resolve) => timer = setTimeout(resolve, timeout)),
    ]);
    clearTimeout(timer);
    const reason = new ClientError(
      "CONNECTION_CLOSED",
      "The server shut down.",
    );
    // Clients close when their calls are answered; wait a moment for them.
    await Promise.all(
      sessions.map((session) => session.retire(SHUTDOWN_GRACE, reason)),
    );
    this.#state = "closed";
    this.#finished.resolve();
  }

  /** Shuts the server down; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

const MAX_TIMER = 2 ** 31 - 1;
/** How long shutdown waits for clients to close once their calls are answered. */
const SHUTDOWN_GRACE = 500;
/** How long a refused connection may take to receive its goodbye, in milliseconds. */
const REFUSE_GRACE = 2_000;

/** A listening socket. */
interface Listening {
  readonly hostname: string;
  readonly port: number;
  close(): void;
}

/** Whether a listen address takes connections from this machine only. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    /^127\./.test(hostname);
}

function ignore(): void {}

function serverOption(
  name: string,
  value: number,
  min: number,
  max: number,
): number {
  return checkIntegerOption(
    name,
    value,
    min,
    max,
    (message) => new ServerError("INVALID_OPTIONS", message),
  );
}
