/**
 * The server: a listener, the actions it offers, and the connections of
 * its clients.
 *
 * @module
 */

import {
  type Action,
  type ActionHandler,
  type ActionRef,
  isAction,
  isActionRef,
} from "./action.ts";
import { checkExtensions } from "./codec.ts";
import { ClientError, ServerError } from "./errors.ts";
import type { Extension } from "./extension.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "./framing.ts";
import { MAX_HELLO_SIZE, MessageCodec } from "./protocol.ts";
import { Session } from "./session.ts";
import { connTransport } from "./transport.ts";
import { checkIntegerOption } from "./options.ts";

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
   * How long a new connection may take to say hello, in milliseconds,
   * before it is closed.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
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
export class Server implements AsyncDisposable {
  readonly #hostname: string;
  readonly #port: number;
  readonly #maxFrameSize: number;
  readonly #handshakeTimeout: number;
  readonly #codec: MessageCodec;
  readonly #actions = new Map<string, Action>();
  readonly #sessions = new Set<Session>();
  readonly #findAction = (name: string) => this.#actions.get(name);
  #state: ServerState = "new";
  #listener: Deno.TcpListener | undefined;
  #accepting: Promise<void> | undefined;
  #shuttingDown: Promise<void> | undefined;
  readonly #finished = Promise.withResolvers<void>();

  /**
   * @param options Where to listen, extensions and limits.
   * @throws {ServerError} `INVALID_OPTIONS` for a bad option.
   * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
   */
  constructor(options: ServerOptions = {}) {
    this.#hostname = options.hostname ?? "127.0.0.1";
    this.#port = serverOption("port", options.port ?? 0, 0, 65535);
    this.#maxFrameSize = serverOption(
      "maxFrameSize",
      options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      MAX_HELLO_SIZE,
      0xffff_ffff,
    );
    this.#handshakeTimeout = serverOption(
      "handshakeTimeout",
      options.handshakeTimeout ?? 10_000,
      1,
      2 ** 31 - 1,
    );
    this.#codec = new MessageCodec(checkExtensions(options.extensions ?? []));
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
    const registered = handler === undefined
      ? checkAction(action)
      : checkActionWithHandler(action, handler);
    if (this.#actions.has(registered.name)) {
      throw new ServerError(
        "DUPLICATE_ACTION",
        `An action named "${registered.name}" is already registered: remove it first, or use another name.`,
      );
    }
    this.#actions.set(registered.name, registered as Action);
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
    return this.#actions.delete(
      typeof action === "string" ? action : action.name,
    );
  }

  /** The names of the actions offered, in the order they were added. */
  get actionNames(): readonly string[] {
    return Object.freeze([...this.#actions.keys()]);
  }

  /** How many clients are connected right now. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** Where the server listens, once {@linkcode Server.listen} resolved. */
  get addr(): ServerAddress | undefined {
    if (this.#listener === undefined) return undefined;
    const { hostname, port } = this.#listener.addr;
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
  listen(): Promise<ServerAddress> {
    if (this.#state !== "new") {
      return Promise.reject(
        new ServerError(
          "ALREADY_LISTENING",
          this.#state === "listening"
            ? `This server already listens on port ${this.addr?.port}.`
            : "This server was shut down; create a new one.",
        ),
      );
    }
    try {
      this.#listener = Deno.listen({
        hostname: this.#hostname,
        port: this.#port,
        transport: "tcp",
      });
    } catch (error) {
      return Promise.reject(this.#bindError(error));
    }
    this.#state = "listening";
    this.#accepting = this.#acceptLoop(this.#listener);
    return Promise.resolve(this.addr!);
  }

  #bindError(error: unknown): ServerError {
    const where = `${this.#hostname}:${this.#port}`;
    if (error instanceof Deno.errors.AddrInUse) {
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

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    while (this.#state === "listening") {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#state !== "listening") return;
        if (error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors, or a connection reset before it was
        // accepted: pause a moment rather than spin, then go on.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      this.#serve(conn);
    }
  }

  #serve(conn: Deno.TcpConn): void {
    if (this.#state !== "listening") {
      conn.close();
      return;
    }
    try {
      conn.setNoDelay(true);
    } catch {
      // The peer is already gone; the session will notice.
    }
    const session = new Session(
      connTransport(conn, {
        maxFrameSize: this.#maxFrameSize,
        maxFirstFrameSize: MAX_HELLO_SIZE,
      }),
      {
        codec: this.#codec,
        maxFrameSize: this.#maxFrameSize,
        handshakeTimeout: this.#handshakeTimeout,
        actions: this.#findAction,
      },
    );
    this.#sessions.add(session);
    session.closed.then(() => this.#sessions.delete(session));
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
    await Promise.all(sessions.map((session) => session.close(reason)));
    this.#state = "closed";
    this.#finished.resolve();
  }

  /** Shuts the server down; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

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

function checkAction(action: unknown): Action {
  if (!isAction(action)) {
    throw new ServerError(
      "INVALID_ACTION",
      `addAction() takes an action, { name, handler }, as made by action("name", handler); got ${
        describeValue(action)
      }.`,
    );
  }
  return action;
}

function checkActionWithHandler(ref: unknown, handler: unknown): Action {
  if (!isActionRef(ref)) {
    throw new ServerError(
      "INVALID_ACTION",
      `addAction(ref, handler) takes a reference made by action("name"); got ${
        describeValue(ref)
      }.`,
    );
  }
  if (typeof handler !== "function") {
    throw new ServerError(
      "INVALID_ACTION",
      `The handler for action "${ref.name}" must be a function; got ${
        describeValue(handler)
      }.`,
    );
  }
  return { name: ref.name, handler: handler as Action["handler"] };
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") {
    return value.prototype !== undefined && /^class\b/.test(String(value))
      ? `the class ${value.name} (pass an instance or an action)`
      : "a function";
  }
  if (typeof value === "object") {
    const name = (value as { name?: unknown }).name;
    return typeof name === "string" && name.length === 0
      ? "an action with an empty name"
      : typeof name === "string"
      ? `an object named "${name}" without a handler`
      : "an object without a name";
  }
  return `a ${typeof value}`;
}
