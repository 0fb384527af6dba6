/**
 * The client: connects lazily on the first call, retries the connection
 * with backoff, and runs actions on the server by reference or by name.
 *
 * @module
 */

import { type ActionRef, isActionRef } from "./action.ts";
import { checkExtensions } from "./codec.ts";
import { ClientError } from "./errors.ts";
import type { Extension } from "./extension.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "./framing.ts";
import { checkIntegerOption } from "./options.ts";
import { MAX_HELLO_SIZE, MessageCodec } from "./protocol.ts";
import { Session } from "./session.ts";
import { connTransport } from "./transport.ts";

/** Options of {@linkcode Client}. */
export interface ClientOptions {
  /**
   * The server's host name or IP address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The server's port. */
  port: number;
  /**
   * How many times to try to connect before a call fails with
   * `CONNECT_FAILED`. The waits between tries grow exponentially from
   * `retryDelay`, with jitter.
   *
   * @default {3}
   */
  retry?: number;
  /**
   * The wait after the first failed try, in milliseconds; each later wait
   * doubles, up to `maxRetryDelay`, and is shortened by up to half at random
   * so that many clients do not retry in step.
   *
   * @default {100}
   */
  retryDelay?: number;
  /**
   * The longest wait between tries, in milliseconds.
   *
   * @default {2000}
   */
  maxRetryDelay?: number;
  /**
   * Classes that travel as themselves; the server must register the same.
   *
   * @default {[]}
   */
  extensions?: readonly Extension[];
  /**
   * The largest answer accepted, in bytes. The server learns it in the
   * hello and answers larger results with a `FRAME_TOO_LARGE` error.
   *
   * @default {67108864}
   */
  maxFrameSize?: number;
  /**
   * How long the server may take to answer the hello, in milliseconds.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
}

/** The data argument of a call: optional when the action takes none. */
export type ActionDataArgs<I> = undefined extends I ? [data?: I] : [data: I];

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
export class Client implements Disposable, AsyncDisposable {
  readonly #hostname: string;
  readonly #port: number;
  readonly #attempts: number;
  readonly #retryDelay: number;
  readonly #maxRetryDelay: number;
  readonly #maxFrameSize: number;
  readonly #handshakeTimeout: number;
  readonly #codec: MessageCodec;
  /** Every session not yet closed: the current one, and older ones still finishing calls. */
  readonly #sessions = new Set<Session>();
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  #isClosed = false;
  readonly #closing = new AbortController();

  /**
   * @param options Where the server is, retries, extensions and limits.
   * @throws {ClientError} `INVALID_OPTIONS` for a bad option.
   * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
   */
  constructor(options: ClientOptions) {
    this.#hostname = options.hostname ?? "127.0.0.1";
    this.#port = clientOption("port", options.port, 0, 65535);
    this.#attempts = Math.max(
      1,
      clientOption("retry", options.retry ?? 3, 0, 1000),
    );
    this.#retryDelay = clientOption(
      "retryDelay",
      options.retryDelay ?? 100,
      0,
      60_000,
    );
    this.#maxRetryDelay = clientOption(
      "maxRetryDelay",
      options.maxRetryDelay ?? 2_000,
      0,
      600_000,
    );
    this.#maxFrameSize = clientOption(
      "maxFrameSize",
      options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      MAX_HELLO_SIZE,
      0xffff_ffff,
    );
    this.#handshakeTimeout = clientOption(
      "handshakeTimeout",
      options.handshakeTimeout ?? 10_000,
      1,
      2 ** 31 - 1,
    );
    this.#codec = new MessageCodec(checkExtensions(options.extensions ?? []));
  }

  /**
   * Runs an action on the server and returns its result, typed from the
   * reference. Rejects with a {@linkcode RemoteError} when the server
   * answered with an error (`UNKNOWN_ACTION`, `ACTION_FAILED`, …) and with a
   * {@linkcode ClientError} when no answer could be had (`CONNECT_FAILED`,
   * `CONNECTION_CLOSED`, …). The client stays usable after either.
   *
   * @param action The action, or a reference to it.
   * @param data The input; omit it when the action takes none.
   * @returns What the action returned.
   *
   * @example
   * ```ts
   * import { action, Client, RemoteError, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const fail = action("fail", (): never => { throw new TypeError("nope"); });
   * await using server = new Server().addAction(fail);
   * await using client = new Client({ port: (await server.listen()).port });
   * await assert.rejects(client.runAction(fail), (error) =>
   *   error instanceof RemoteError && error.code === "ACTION_FAILED" &&
   *   error.remoteName === "TypeError" && error.message === "nope");
   * ```
   */
  runAction<I, O>(
    action: ActionRef<I, O>,
    ...data: ActionDataArgs<I>
  ): Promise<O>;
  /**
   * Runs an action by name; its result is `unknown`.
   *
   * @param action The action's name.
   * @param data The input; omit it when the action takes none.
   * @returns What the action returned.
   */
  runAction(action: string, data?: unknown): Promise<unknown>;
  runAction(action: ActionRef | string, data?: unknown): Promise<unknown> {
    const name = typeof action === "string"
      ? action
      : isActionRef(action)
      ? action.name
      : "";
    if (name.length === 0) {
      return Promise.reject(
        new ClientError(
          "INVALID_ACTION",
          'runAction() takes an action, a reference made by action("name"), or a non-empty name.',
        ),
      );
    }
    const session = this.#session;
    if (session !== undefined && session.isOpen) {
      return session.call(name, data);
    }
    return this.#connect().then((session) => session.call(name, data));
  }

  /** Whether a connection to the server is open now. */
  get isConnected(): boolean {
    return this.#session?.isOpen ?? false;
  }

  /**
   * Closes the connection. Calls still waiting reject with
   * `CONNECTION_CLOSED`, and so do later ones.
   *
   * @returns Resolves once the connection is closed.
   */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#isClosed = true;
      this.#closing.abort();
      this.#session = undefined;
    }
    const reason = closedError();
    return Promise.all(
      [...this.#sessions].map((session) => session.close(reason)),
    ).then(() => {});
  }

  /** Closes the client; for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the client; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #connect(): Promise<Session> {
    if (this.#isClosed) return Promise.reject(closedError());
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<Session> {
    const conn = await this.#dial();
    if (this.#isClosed) {
      conn.close();
      throw closedError();
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
      },
    );
    this.#sessions.add(session);
    session.closed.then(() => {
      this.#sessions.delete(session);
      if (this.#session === session) this.#session = undefined;
    });
    await session.ready;
    this.#session = session;
    return session;
  }

  /** Connects, trying up to `retry` times with exponential backoff and jitter. */
  async #dial(): Promise<Deno.TcpConn> {
    const address = `${this.#hostname}:${this.#port}`;
    for (let attempt = 1;; attempt++) {
      try {
        const conn = await Deno.connect({
          hostname: this.#hostname,
          port: this.#port,
          transport: "tcp",
        });
        conn.setNoDelay(true);
        return conn;
      } catch (error) {
        const isFinal = attempt >= this.#attempts || this.#isClosed ||
          error instanceof Deno.errors.NotCapable ||
          error instanceof Deno.errors.PermissionDenied;
        if (isFinal) {
          throw new ClientError(
            "CONNECT_FAILED",
            `Cannot connect to ${address} after ${attempt} attempt${
              attempt === 1 ? "" : "s"
            }: ${
              (error as Error)?.message ?? error
            }. Is the server running there?`,
            { cause: error },
          );
        }
        await this.#wait(this.#backoff(attempt));
      }
    }
  }

  #backoff(attempt: number): number {
    const delay = Math.min(
      this.#maxRetryDelay,
      this.#retryDelay * 2 ** (attempt - 1),
    );
    return delay / 2 + Math.random() * delay / 2;
  }

  /** Waits, or stops waiting as soon as the client is closed. */
  #wait(milliseconds: number): Promise<void> {
    const signal = this.#closing.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, milliseconds);
      signal.addEventListener("abort", done);
    });
  }
}

function clientOption(
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
    (message) => new ClientError("INVALID_OPTIONS", message),
  );
}

function closedError(): ClientError {
  return new ClientError("CONNECTION_CLOSED", "The client was closed.");
}
