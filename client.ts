/**
 * The client: connects lazily on the first call, retries the connection
 * with backoff, and runs actions on the server by reference or by name,
 * with deadlines and cancellation.
 *
 * @module
 */

import type { ActionHandler } from "./src/dispatch/action.ts";
import type {
  ActionArgs,
  ActionRef,
  CallOptions,
  StreamArgs,
  StreamCallOptions,
} from "./src/dispatch/peer.ts";
import { IsockEventTarget } from "./src/base/events.ts";
import type { ActionRegistry } from "./src/dispatch/registry.ts";
import { describeRef } from "./src/dispatch/reflection.ts";
import {
  readDescription,
  type ServiceDescription,
} from "./src/dispatch/description.ts";
import type { StreamItem } from "./src/protocol/stream.ts";
import {
  type ClientEventMap,
  type ClientOptions,
  resolveClientConfig,
} from "./src/endpoint/client_options.ts";
import {
  type ClientCalls,
  openClientLink,
} from "./src/endpoint/client_calls.ts";
import type { ClientLink } from "./src/endpoint/client_transport.ts";
import type { Middleware } from "./src/dispatch/middleware.ts";
import { ClientEvent } from "./src/endpoint/client_event.ts";

export type {
  ActionArgs,
  CallOptions,
  StreamArgs,
  StreamCallOptions,
} from "./src/dispatch/peer.ts";
export type {
  BalanceName,
  ClientBaseOptions,
  ClientEndpoint,
  ClientEventMap,
  ClientOptions,
  ClientTlsOptions,
  EndpointsClientOptions,
  TcpClientOptions,
  TransportClientOptions,
  UnixClientOptions,
  UrlClientOptions,
} from "./src/endpoint/client_options.ts";
export type { ConnectionOptions } from "./src/endpoint/options.ts";
export type { ConnectDetail } from "./src/endpoint/client_event.ts";
export { ClientEvent, type LeaveReason } from "./src/endpoint/client_event.ts";
export type { ClientTransport } from "./src/endpoint/client_transport.ts";

/**
 * Runs actions on a server. The connection opens on the first call and
 * stays open; calls made at the same time share it and are answered in any
 * order. After the connection drops, the next call opens a new one.
 *
 * @example Call by reference (typed) or by name
 * ```ts
 * import { action, Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const add = action("add", ([a, b]: [number, number]) => a + b);
 * await using server = new Server().addAction(add);
 * const { port } = await server.listen();
 *
 * await using client = new Client({ port, retry: 3 });
 * const sum: number = await client.runAction(add, [2, 3]);
 * assert.equal(sum, 5);
 * assert.equal(await client.runAction("add", [4, 5]), 9);
 * ```
 */
export class Client extends IsockEventTarget<ClientEventMap>
  implements Disposable, AsyncDisposable {
  readonly #link: ClientLink;
  readonly #actions: ActionRegistry;
  readonly #calls: ClientCalls;

  /**
   * Creates a `Client`.
   *
   * @param options Where the server is, retries, deadlines, extensions,
   * limits, TLS and authentication.
   * @throws {ClientError} `INVALID_OPTIONS` for a bad option.
   * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
   */
  constructor(options: ClientOptions) {
    super();
    const parts = openClientLink(
      resolveClientConfig(options),
      (type, detail, endpoint, reason) =>
        this.dispatchEvent(new ClientEvent(type, detail, endpoint, reason)),
    );
    this.#link = parts.link;
    this.#actions = parts.actions;
    this.#calls = parts.calls;
  }

  /**
   * Runs an action on the server and returns its result, typed from the
   * reference. Rejects with a {@linkcode RemoteError} when the server
   * answered with an error (`UNKNOWN_ACTION`, `ACTION_FAILED`,
   * `INVALID_INPUT`, `OVERLOADED`, …) and with a {@linkcode ClientError}
   * when no answer could be had (`CONNECT_FAILED`, `CONNECTION_CLOSED`,
   * `TIMEOUT`, `ABORTED`, …). The client stays usable after either.
   *
   * @param action The action, or a reference to it.
   * @param args The input (omit it when the action takes none), then call
   * options: `timeout` in milliseconds, and an abort `signal`.
   * @returns What the action returned.
   *
   * @example Errors, deadlines and cancellation
   * ```ts
   * import { action, Client, ClientError, RemoteError, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const fail = action("fail", (): never => { throw new TypeError("nope"); });
   * const slow = action("slow", (_: undefined, context) =>
   *   new Promise((resolve) => {
   *     const timer = setTimeout(resolve, 10_000);
   *     context.signal.addEventListener("abort", () => clearTimeout(timer));
   *   }));
   * await using server = new Server().addAction(fail).addAction(slow);
   * await using client = new Client({ port: (await server.listen()).port });
   *
   * await assert.rejects(client.runAction(fail), (error) =>
   *   error instanceof RemoteError && error.code === "ACTION_FAILED" &&
   *   error.remoteName === "TypeError" && error.message === "nope");
   * await assert.rejects(client.runAction(slow, undefined, { timeout: 50 }), (error) =>
   *   error instanceof ClientError && error.code === "TIMEOUT");
   * ```
   */
  runAction<I, O>(
    action: ActionRef<I, O>,
    ...args: ActionArgs<I>
  ): Promise<O>;
  /**
   * Runs an action by name; its result is `unknown`.
   *
   * @param action The action's name.
   * @param data The input; omit it when the action takes none.
   * @param options `timeout` in milliseconds, and an abort `signal`.
   * @returns What the action returned.
   */
  runAction(
    action: string,
    data?: unknown,
    options?: CallOptions,
  ): Promise<unknown>;
  runAction(
    action: ActionRef | string,
    data?: unknown,
    options?: CallOptions,
  ): Promise<unknown> {
    return this.#calls.run(action, data, options);
  }

  /**
   * Runs an action whose result is a stream (a handler that returns an
   * async iterable, such as an async generator), and iterates its items as
   * they arrive. The server produces only as fast as the loop consumes:
   * at most `window` items (by default 1,024, and 1 MiB) are on their way,
   * several to a message when the generator has them ready. Leaving the loop early
   * (`break`, `return`, an aborted signal) ends the generator on the server,
   * whose `finally` runs. An error thrown by the generator arrives as a
   * `RemoteError` after the items sent before it.
   *
   * When the connection drops under a stream whose items are tagged with
   * {@linkcode tracked}, the client reconnects and resumes after the last
   * item received: the loop sees no gap and no duplicate. Other streams
   * fail with `CONNECTION_CLOSED`.
   *
   * @param action The action, or a reference to it.
   * @param args The input (a value, or itself a stream), then options:
   * `timeout`, `signal`, `window`.
   * @returns The items.
   *
   * @example Tail a stream and stop early
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * let cleanedUp = false;
   * const count = action("count", async function* (to: number) {
   *   try {
   *     for (let n = 1; n <= to; n++) yield n;
   *   } finally {
   *     cleanedUp = true;
   *   }
   * });
   * await using server = new Server().addAction(count);
   * await using client = new Client({ port: (await server.listen()).port });
   *
   * const seen: number[] = [];
   * for await (const n of client.stream(count, 1_000_000)) {
   *   seen.push(n);
   *   if (n === 3) break;
   * }
   * assert.deepStrictEqual(seen, [1, 2, 3]);
   * while (!cleanedUp) await new Promise((resolve) => setTimeout(resolve, 1));
   * ```
   */
  stream<I, O>(
    action: ActionRef<I, O>,
    ...args: StreamArgs<I>
  ): AsyncIterable<StreamItem<O>>;
  /**
   * Runs an action by name whose result is a stream.
   *
   * @param action The action's name.
   * @param data The input.
   * @param options `timeout`, `signal` and `window`.
   * @returns The items.
   */
  stream(
    action: string,
    data?: unknown,
    options?: StreamCallOptions,
  ): AsyncIterable<unknown>;
  stream(
    action: ActionRef | string,
    data?: unknown,
    options?: StreamCallOptions,
  ): AsyncIterable<unknown> {
    return this.#calls.stream(action, data, options);
  }

  /**
   * Asks the server what it offers (reflection): each action's name,
   * idempotence, whether it streams, and its schemas as JSON Schema where
   * the schema library writes them (zod 4 does). A server with
   * `reflection: false` answers `RemoteError` `UNKNOWN_ACTION`.
   *
   * @param options `timeout` in milliseconds, and an abort `signal`.
   * @returns The description: `{ version: 1, actions: [...] }`.
   * @throws {ClientError} `PROTOCOL` when the answer is not a description.
   *
   * @example
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server().addAction(action("echo", (d: string) => d));
   * await using client = new Client({ port: (await server.listen()).port });
   * assert.equal((await client.describe()).actions[0].name, "echo");
   * ```
   */
  async describe(options?: CallOptions): Promise<ServiceDescription> {
    return readDescription(
      await this.runAction(describeRef, undefined, options),
    );
  }

  /**
   * Wraps every call this client makes (each try of it, and each stream) in
   * `middleware`, after those installed before: the first installed is the
   * outermost. The same middleware can go on a server with `server.use()`.
   *
   * @param middleware `(call, next) => …`; see {@linkcode Middleware}.
   * @returns This client, to chain calls.
   *
   * @example Add a request id to every call
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server().addAction(action("id", (_: undefined, context) =>
   *   context.metadata.get("request-id")));
   * await using client = new Client({ port: (await server.listen()).port })
   *   .use((call, next) => (call.metadata.set("request-id", "r-1"), next()));
   * assert.equal(await client.runAction("id"), "r-1");
   * ```
   */
  use(middleware: Middleware): this {
    this.#calls.use(middleware);
    return this;
  }

  /**
   * Offers an action to the server, which calls it through
   * `context.peer.runAction()` or `server.peers` (two-way calls).
   *
   * @param action An action, or a reference…
   * @param handler …with its handler.
   * @returns This client, to chain calls.
   * @throws {ClientError} `INVALID_ACTION` or `DUPLICATE_ACTION`.
   */
  addAction<I, O>(
    action: ActionRef<I, O>,
    handler?: ActionHandler<I, O>,
  ): this {
    this.#actions.add(action, handler);
    return this;
  }

  /**
   * Stops offering an action to the server.
   *
   * @param action The action, a reference to it, or its name.
   * @returns Whether an action was removed.
   */
  removeAction(action: string | ActionRef): boolean {
    return this.#actions.remove(action);
  }

  /** The names of the actions this client offers its server. */
  get actionNames(): readonly string[] {
    return this.#actions.names;
  }

  /**
   * Connects now, instead of on the first call: for a client that offers
   * actions and waits for the server to call them, say. Calls connect by
   * themselves otherwise.
   *
   * @returns Resolves once the connection is ready.
   * @throws {ClientError} `CONNECT_FAILED`, `PROTOCOL`, `UNAUTHORIZED`…
   *
   * @example
   * ```ts
   * import { Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server();
   * await using client = new Client({ port: (await server.listen()).port });
   * await client.connect();
   * assert.equal(client.isConnected, true);
   * ```
   */
  async connect(): Promise<void> {
    await this.#link.connected();
  }

  /** Whether a connection to the server is open now. */
  get isConnected(): boolean {
    return this.#link.isConnected;
  }

  /**
   * Closes the connection. Calls still waiting reject with
   * `CONNECTION_CLOSED`, and so do later ones.
   *
   * @returns Resolves once the connection is closed.
   */
  close(): Promise<void> {
    return this.#link.close();
  }

  /** Closes the client; for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the client; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
