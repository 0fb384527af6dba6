/**
 * The server: a listener, the actions it offers, and the connections of
 * its clients.
 *
 * @module
 */

import type { Action, ActionHandler } from "./src/dispatch/action.ts";
import type { ActionRef, Peer } from "./src/dispatch/peer.ts";
import type { Middleware } from "./src/dispatch/middleware.ts";
import type { ActionRegistry } from "./src/dispatch/registry.ts";
import {
  ActionStatsTable,
  type ServerStats,
  type StatsOptions,
} from "./src/dispatch/action_stats.ts";
import { type Authenticator, importSecret } from "./src/protocol/auth.ts";
import { deferred } from "./src/base/deferred.ts";
import { IsockEventTarget } from "./src/base/events.ts";
import { ServerError } from "./src/base/errors.ts";
import type { Session } from "./src/session/session.ts";
import type {
  Listener,
  Transport,
  TransportOptions,
} from "./src/wire/transport.ts";
import {
  type Admission,
  bindListener,
  retireAll,
  setUpServer,
} from "./src/endpoint/server_connections.ts";
import { readIntegerOptions } from "./src/endpoint/options.ts";
import {
  invalidOption,
  resolveServerConfig,
  type ServerAddress,
  type ServerEventMap,
  type ServerOptions,
  SHUTDOWN_OPTIONS,
  type ShutdownOptions,
} from "./src/endpoint/server_options.ts";
import type { Endpoint } from "./src/endpoint/open_session.ts";
import {
  acceptSocket,
  type UpgradeInfo,
  upgradeRequest,
  type WebSocketHost,
} from "./src/endpoint/websocket_server.ts";
import type { WebSocketLike } from "./src/wire/websocket_transport.ts";
import {
  type ServerTransport,
  type ServingTransport,
  startServing,
} from "./src/endpoint/server_transport.ts";

export type { ConnectionOptions } from "./src/endpoint/options.ts";
export type {
  DisconnectDetail,
  ServerAddress,
  ServerErrorDetail,
  ServerEventMap,
  ServerOptions,
  ServerTlsOptions,
  ShutdownOptions,
} from "./src/endpoint/server_options.ts";
export type { ServerTransport } from "./src/endpoint/server_transport.ts";
export type { UpgradeInfo } from "./src/endpoint/websocket_server.ts";
export type { WebSocketLike } from "./src/wire/websocket_transport.ts";
export type {
  ActionLastError,
  ActionStats,
  ServerStats,
  StatsOptions,
} from "./src/dispatch/action_stats.ts";

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
  readonly #path: string | undefined;
  readonly #options: ServerOptions;
  readonly #admission: Admission;
  /** The frame limits of every accepted connection. */
  readonly #frames: TransportOptions;
  readonly #actions: ActionRegistry;
  readonly #stats = new ActionStatsTable();
  readonly #middleware: Middleware[] = [];
  #auth: Authenticator = {};
  #state: ServerState = "new";
  #listener: Listener | undefined;
  readonly #endpoint: Endpoint;
  /** The transports serving beside the listener (`listen(transport)`). */
  readonly #transports: ServingTransport[] = [];
  #shuttingDown: Promise<void> | undefined;
  #authReady: Promise<Authenticator> | undefined;
  /** The WebSocket side (`upgrade`, `accept`). */
  readonly #webSockets: WebSocketHost;
  readonly #finished = deferred<void>();

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
    const config = resolveServerConfig(options);
    const parts = setUpServer(config, this.#stats, this.#middleware);
    this.#hostname = config.hostname;
    this.#port = config.port;
    this.#path = config.path;
    this.#frames = parts.frames;
    this.#actions = parts.actions;
    this.#admission = parts.admission;
    this.#endpoint = parts.endpoint;
    const isRefusing = () =>
      this.#state === "closing" || this.#state === "closed";
    this.#webSockets = {
      get isRefusing() {
        return isRefusing();
      },
      frames: this.#frames,
      ready: () => this.#authenticator(),
      serve: (transport) => this.#serve(transport),
    };
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
   * Wraps every incoming call (and stream) in `middleware`, after those
   * installed before: the first installed is the outermost. It applies to
   * calls that arrive from now on, on every connection.
   *
   * @param middleware `(call, next) => …`; see {@linkcode Middleware}.
   * @returns This server, to chain calls.
   *
   * @example Refuse calls without a tenant, tag every answer
   * ```ts
   * import { action, Client, ClientError, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server()
   *   .addAction(action("whoami", (_: undefined, context) => context.metadata.get("tenant")))
   *   .use((call, next) => {
   *     if (!call.metadata.has("tenant")) {
   *       throw new ClientError("UNAUTHORIZED", "Say which tenant you are.");
   *     }
   *     call.responseMetadata.set("served-by", "server-1");
   *     return next();
   *   });
   * await using client = new Client({ port: (await server.listen()).port });
   * assert.equal(await client.runAction("whoami", undefined, { metadata: { tenant: "acme" } }), "acme");
   * await assert.rejects(client.runAction("whoami"), { code: "UNAUTHORIZED" });
   * ```
   */
  use(middleware: Middleware): this {
    if (typeof middleware !== "function") {
      throw new ServerError("INVALID_OPTIONS", "use() takes a function.");
    }
    this.#middleware.push(middleware);
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
      [...this.#admission.sessions].filter((session) => session.isOpen).map((
        session,
      ) => session.peer),
    );
  }

  /**
   * Per-action stats over all connections: calls answered, errors, calls
   * running now, processing time (total and average, in milliseconds) and
   * the last error, plus the requests that named no action. A snapshot:
   * plain objects that later calls do not change.
   *
   * @param options `reset: true` starts counting afresh after this read.
   * @returns The numbers since the server was made or last reset (an
   * example runs under {@linkcode ServerStats}).
   */
  stats(options: StatsOptions = {}): ServerStats {
    return this.#stats.snapshot(this.#actions.names, options.reset === true);
  }

  /** How many clients are connected right now. */
  get connectionCount(): number {
    return this.#admission.sessions.size;
  }

  /** Where the server listens, once {@linkcode Server.listen} resolved. */
  get addr(): ServerAddress | undefined {
    if (this.#listener === undefined) return undefined;
    const { hostname, port } = this.#listener;
    const path = this.#path;
    return path === undefined ? { hostname, port } : { hostname, port, path };
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
  async listen(): Promise<ServerAddress>;
  /**
   * Serves the actions through a transport too, beside any TCP listener:
   * `server.listen(natsTransport({ … }))` serves them over NATS. The same
   * actions, middleware, stats and options apply; `shutdown()` drains it.
   *
   * @param transport What `natsTransport()` (`@isock/isock/nats`) returns.
   * @returns Resolves once calls can arrive through it.
   * @throws {ServerError} `ALREADY_LISTENING` after a shutdown,
   * `INVALID_OPTIONS` for something that is not a transport.
   */
  async listen(transport: ServerTransport): Promise<void>;
  async listen(transport?: ServerTransport): Promise<ServerAddress | void> {
    if (transport !== undefined) return await this.#listenOn(transport);
    if (this.#state !== "new") {
      throw new ServerError(
        "ALREADY_LISTENING",
        this.#state === "listening"
          ? `This server already listens on port ${this.addr?.port}.`
          : "This server was shut down; create a new one.",
      );
    }
    this.#state = "listening";
    const { tls } = this.#options;
    await this.#authenticator();
    if (this.#state !== "listening") {
      throw new ServerError(
        "LISTEN_FAILED",
        "The server was shut down while it was starting.",
      );
    }
    try {
      this.#listener = await bindListener({
        hostname: this.#hostname,
        port: this.#port,
        path: this.#path,
        tls,
        frames: this.#frames,
      }, {
        connection: (transport) => this.#serve(transport),
        error: (error) => this.emit("error", { error }),
      });
    } catch (error) {
      this.#state = "new";
      throw error;
    }
    return this.addr!;
  }

  async #listenOn(transport: ServerTransport): Promise<void> {
    this.#transports.push(
      await startServing(
        transport,
        { endpoint: this.#endpoint, stats: () => this.stats() },
        () => this.#state === "closing" || this.#state === "closed",
      ),
    );
  }

  /** How the server checks its clients, once its secret is imported. */
  #authenticator(): Promise<Authenticator> {
    const { secret, authenticate } = this.#options;
    this.#authReady ??= (async () => {
      this.#auth = {
        key: secret === undefined ? undefined : await importSecret(secret),
        authenticate,
      };
      return this.#auth;
    })();
    return this.#authReady;
  }

  /**
   * Serves isock over WebSocket from a fetch-style handler (`Deno.serve`),
   * beside or instead of {@linkcode Server.listen}: the same actions,
   * limits, stats, middleware and shutdown. A request that is not a
   * WebSocket upgrade gets 426, and every request 503 once
   * {@linkcode Server.shutdown} was called. Clients connect with
   * `new Client({ url: "ws://host:port/path" })`, in a browser too.
   *
   * @param request The HTTP request.
   * @param info What `Deno.serve` passes beside it (the client's address).
   * @returns The response: the upgrade, or why not.
   *
   * @example
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server();
   * server.addAction(action("add", ([a, b]: [number, number]) => a + b));
   * await using http = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   (request, info) => server.upgrade(request, info),
   * );
   * await using client = new Client({ url: `ws://127.0.0.1:${http.addr.port}/` });
   * assert.equal(await client.runAction("add", [2, 3]), 5);
   * ```
   */
  upgrade(request: Request, info?: UpgradeInfo): Response {
    return upgradeRequest(this.#webSockets, request, info);
  }

  /**
   * Serves isock over a WebSocket opened elsewhere: any standard WebSocket
   * that is open or opening (from `Deno.upgradeWebSocket`, or Node's `ws`
   * package). Once {@linkcode Server.shutdown} was called it is closed at
   * once (code 1001).
   *
   * @param socket The WebSocket; the server owns it from now on.
   *
   * @example
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server();
   * server.addAction(action("echo", (text: string) => text));
   * await using http = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   (request) => {
   *     const { socket, response } = Deno.upgradeWebSocket(request);
   *     server.accept(socket);
   *     return response;
   *   },
   * );
   * await using client = new Client({ url: `ws://127.0.0.1:${http.addr.port}` });
   * assert.equal(await client.runAction("echo", "hi"), "hi");
   * ```
   */
  accept(socket: WebSocketLike): void {
    acceptSocket(this.#webSockets, socket);
  }

  /** Serves a new connection, or refuses it over `maxConnections`. */
  #serve(transport: Transport): void {
    if (this.#state === "closing" || this.#state === "closed") {
      transport.close();
      return;
    }
    const session = this.#admission.admit(transport, this.#auth);
    if (session instanceof ServerError) {
      this.emit("error", { error: session });
      return;
    }
    this.#watch(session);
  }

  /** Reports a session's handshake and its end as events. */
  #watch(session: Session): void {
    session.ready.then(
      () => this.emit("connect", session.peer),
      (error) => this.emit("error", { peer: session.peer, error }),
    );
    session.closed.then(() => {
      const error = session.endReason;
      this.emit(
        "disconnect",
        error ? { peer: session.peer, error } : { peer: session.peer },
      );
    });
  }

  /**
   * Shuts down gracefully: stops taking connections (and calls from a
   * NATS bus), tells each client the server is going away (their later
   * calls fail with `CONNECTION_CLOSED` or go to a new connection), and
   * lets running calls finish, for `timeout` ms at most from this call.
   * Once that is up, it gives up on the calls still running: their
   * handlers' signals abort (a `ClientError` `CONNECTION_CLOSED`), their
   * streams stop, their inputs fail, and what they answer is dropped (the
   * client's call fails `CONNECTION_CLOSED`, `wasRun: "maybe"`, as for a
   * lost connection, so an idempotent one goes to another server). The
   * handlers get 250 ms more to return, so that their `finally` blocks run
   * before the shutdown ends. Then every connection closes: at once where
   * a call was given up on, elsewhere once its client closed it (clients
   * do, once their calls are answered) or after 500 ms. Closing writes
   * what is queued first, for 2 s at most (a client that does not read).
   *
   * So when the promise resolves every handler that outlived `timeout`
   * has had its signal aborted, and every connection (TCP, Unix socket,
   * and each NATS bus's subscriptions) is closed: `timeout` + 0.75 s at
   * most, plus up to 2 s for a client that does not read. Safe to call more
   * than once; later calls return the first one's promise.
   *
   * @param options How long to wait for running calls.
   * @returns Resolves once everything is closed.
   *
   * @example
   * ```ts
   * import { action, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const server = new Server({ hostname: "127.0.0.1", port: 0 });
   * server.addAction(action("echo", (text: string) => text));
   * await server.listen();
   * await server.shutdown({ timeout: 1_000 });
   * assert.equal(server.connectionCount, 0);
   * ```
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shuttingDown ??= this.#shutdown(
      readIntegerOptions(SHUTDOWN_OPTIONS, options, invalidOption).timeout,
    );
    return this.#shuttingDown;
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#state = "closing";
    const until = Date.now() + timeout;
    const transports = this.#transports.map((serving) =>
      serving.close(timeout)
    );
    await this.#listener?.close();
    await retireAll(
      [...this.#admission.sessions],
      Math.max(0, until - Date.now()),
    );
    await Promise.all(transports);
    this.#state = "closed";
    this.#finished.resolve();
  }

  /** Shuts the server down; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
