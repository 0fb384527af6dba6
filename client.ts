/**
 * The client: connects lazily on the first call, retries the connection
 * with backoff, and runs actions on the server by reference or by name,
 * with deadlines and cancellation.
 *
 * @module
 */

import type { ActionHandler, ActionRef } from "./action.ts";
import { type Authenticator, importSecret } from "./auth.ts";
import { checkExtensions } from "./codec.ts";
import { IsockEventTarget } from "./events.ts";
import { ClientError } from "./errors.ts";
import type { Extension } from "./extension.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "./framing.ts";
import { checkIntegerOption } from "./options.ts";
import { MAX_HELLO_SIZE, MessageCodec } from "./protocol.ts";
import {
  type ActionArgs,
  actionName,
  failing,
  invalidAction,
  type StreamArgs,
  type StreamCallOptions,
} from "./peer.ts";
import { ActionRegistry } from "./registry.ts";
import { abortedError } from "./call.ts";
import { type CallOptions, Session, wasNotRun } from "./session.ts";
import { isStreamSource, type StreamItem } from "./stream.ts";
import type { Transport } from "./transport.ts";
import { dialOnce, isCertificateError } from "./connect.ts";

export type { CallOptions } from "./session.ts";
export type { ActionArgs, StreamArgs, StreamCallOptions } from "./peer.ts";

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
   * `CONNECT_FAILED` (a server certificate the client does not accept fails
   * at once, with `TLS_FAILED`). The waits between tries grow exponentially from
   * `retryDelay`, with jitter. Idempotent actions are also sent again up to
   * this many times when the connection drops under them.
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
   * The default deadline of every call, in milliseconds: a call not
   * answered in time rejects with `TIMEOUT`, and its handler's signal on the
   * server aborts. 0 waits as long as it takes. A call's own `timeout`
   * option overrides it.
   *
   * @default {0}
   */
  timeout?: number;
  /**
   * Milliseconds between heartbeat pings. A server silent for three
   * intervals (a machine that vanished without closing the connection) is
   * taken for dead: calls in flight reject with `CONNECTION_CLOSED`, and the
   * next call reconnects. 0 turns heartbeats off.
   *
   * @default {10000}
   */
  heartbeatInterval?: number;
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
   * How long each connection attempt may take, in milliseconds: the TCP
   * connect and the TLS handshake together, and then the server's answer
   * to the hello (and authentication). A server that accepts and says
   * nothing costs an attempt this long, never a hang.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Connect over TLS: `true` trusts the usual certificate authorities;
   * `caCerts` trusts yours instead (PEM), as for a self-signed server
   * certificate. A certificate the client does not accept fails the call at
   * once with `TLS_FAILED`.
   */
  tls?: boolean | ClientTlsOptions;
  /**
   * The secret shared with the server, proved by challenge and response
   * (never sent). The server must prove it knows it too, or calls fail with
   * `UNAUTHORIZED`.
   */
  secret?: string | Uint8Array;
  /** What to send to the server's `authenticate` function: a token, say. */
  credentials?: unknown;
  /**
   * How many of the server's calls to this client's actions (two-way
   * calls) may run at once; more are answered `OVERLOADED` without running,
   * as a server does with `maxInFlight`.
   *
   * @default {1000}
   */
  maxInFlight?: number;
}

/** How a client trusts a TLS server. */
export interface ClientTlsOptions {
  /** Certificate authorities to trust (PEM), instead of the usual ones. */
  caCerts?: string[];
}

/** What a client's `connect` event carries. */
export interface ConnectDetail {
  /** The server's host name, as given. */
  hostname: string;
  /** The server's port. */
  port: number;
}

/** The events a {@linkcode Client} dispatches, as `CustomEvent`s. */
export interface ClientEventMap {
  /** A connection to the server is open and ready for calls. */
  connect: CustomEvent<ConnectDetail>;
  /** The connection closed; `detail` is why, when it was not a clean close. */
  disconnect: CustomEvent<Error | undefined>;
  /** A connection could not be made or completed. */
  error: CustomEvent<Error>;
}

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
  readonly #hostname: string;
  readonly #port: number;
  readonly #options: ClientOptions;
  readonly #attempts: number;
  readonly #retryDelay: number;
  readonly #maxRetryDelay: number;
  readonly #timeout: number;
  readonly #sessionOptions: {
    maxFrameSize: number;
    handshakeTimeout: number;
    heartbeatInterval: number;
    maxInFlight: number;
  };
  readonly #codec: MessageCodec;
  /** Every session not yet closed: the current one, and older ones still finishing calls. */
  readonly #sessions = new Set<Session>();
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  #auth: Promise<Authenticator> | undefined;
  #isClosed = false;
  /** The server said goodbye: the next connection is tried once, and fails fast. */
  #serverLeft = false;
  readonly #closing = new AbortController();
  readonly #actions = new ActionRegistry(
    (code, message) => new ClientError(code, message),
  );

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
    this.#options = options;
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
    this.#timeout = clientOption("timeout", options.timeout ?? 0, 0, MAX_TIMER);
    this.#sessionOptions = {
      maxFrameSize: clientOption(
        "maxFrameSize",
        options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
        MAX_HELLO_SIZE,
        0xffff_ffff,
      ),
      handshakeTimeout: clientOption(
        "handshakeTimeout",
        options.handshakeTimeout ?? 10_000,
        1,
        MAX_TIMER,
      ),
      heartbeatInterval: clientOption(
        "heartbeatInterval",
        options.heartbeatInterval ?? 10_000,
        0,
        MAX_TIMER,
      ),
      maxInFlight: clientOption(
        "maxInFlight",
        options.maxInFlight ?? 1_000,
        1,
        2 ** 31,
      ),
    };
    if (options.secret !== undefined && options.secret.length === 0) {
      throw new ClientError("INVALID_OPTIONS", "Option secret is empty.");
    }
    this.#codec = new MessageCodec(checkExtensions(options.extensions ?? []));
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
    const name = actionName(action);
    if (name === undefined) return Promise.reject(invalidAction());
    const callOptions = this.#withDefaultTimeout(options);
    const isIdempotent = typeof action === "object" &&
      action.idempotent === true;
    const input = resendable(data);
    // The deadline is fixed now: a call sent again gets what is left of it.
    const started = Date.now();
    return this.#call(name, input.data, callOptions).catch((error) =>
      this.#retry(error, isIdempotent, name, input, callOptions, started)
    );
  }

  /**
   * After a failure: a call the server refused unrun (it was closing) is
   * sent once more, on a new connection; an idempotent call whose
   * connection dropped is sent again up to `retry` times; anything else
   * fails as it is.
   */
  #retry(
    error: unknown,
    isIdempotent: boolean,
    name: string,
    input: Resendable,
    options: CallOptions | undefined,
    started: number,
  ): Promise<unknown> {
    if (wasNotRun(error) && !this.#isClosed) {
      const again = resend(name, input, options, started, error);
      return again instanceof ClientError
        ? Promise.reject(again)
        : this.#call(name, input.data, again);
    }
    if (isIdempotent) {
      return this.#retryIdempotent(error, name, input, options, started);
    }
    return Promise.reject(error);
  }

  #withDefaultTimeout<T extends CallOptions>(
    options: T | undefined,
  ): T | undefined {
    return this.#timeout > 0 && options?.timeout === undefined
      ? { ...options, timeout: this.#timeout } as T
      : options;
  }

  #call(name: string, data: unknown, options?: CallOptions): Promise<unknown> {
    const session = this.#session;
    if (session !== undefined && session.isOpen) {
      return session.call(name, data, options);
    }
    const started = Date.now();
    return this.#connectedSession(options).then((session) =>
      session.call(name, data, remainingTime(options, started))
    );
  }

  /**
   * The open session, connecting first when there is none. A call's
   * deadline and signal cover the connecting too: a server that does not
   * answer costs the caller no more than its timeout.
   */
  #connectedSession(options?: CallOptions): Promise<Session> {
    const session = this.#session;
    if (session !== undefined && session.isOpen) {
      return Promise.resolve(session);
    }
    const connecting = this.#connect();
    if (!options?.timeout && options?.signal === undefined) return connecting;
    return withDeadline(connecting, options);
  }

  /** Sends an idempotent call again, on a new connection, when its connection dropped. */
  async #retryIdempotent(
    error: unknown,
    name: string,
    input: Resendable,
    options: CallOptions | undefined,
    started: number,
  ): Promise<unknown> {
    for (let attempt = 1;; attempt++) {
      const isConnectionLost = error instanceof ClientError &&
        error.code === "CONNECTION_CLOSED" && !wasClosedByUser(error);
      if (!isConnectionLost || attempt >= this.#attempts || this.#isClosed) {
        throw error;
      }
      const wait = this.#backoff(attempt);
      const left = timeLeft(options, started);
      await this.#wait(left === undefined ? wait : Math.min(wait, left));
      const again = resend(name, input, options, started, error);
      if (again instanceof ClientError) throw again;
      try {
        return await this.#call(name, input.data, again);
      } catch (next) {
        error = next;
      }
    }
  }

  /**
   * Runs an action whose result is a stream (a handler that returns an
   * async iterable, such as an async generator), and iterates its items as
   * they arrive. The server produces only as fast as the loop consumes:
   * at most `window` items are on their way. Leaving the loop early
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
    const name = actionName(action);
    // A stream may last as long as its consumer wants: the client-wide
    // timeout is for calls. A stream's own `timeout` bounds it whole.
    const callOptions = options;
    return {
      [Symbol.asyncIterator]: () =>
        name === undefined
          ? failing(invalidAction())
          : this.#resumableStream(name, data, callOptions),
    };
  }

  /** Iterates a stream, reconnecting and resuming after tracked items when the connection drops. */
  async *#resumableStream(
    name: string,
    data: unknown,
    options: StreamCallOptions | undefined,
  ): AsyncGenerator<unknown, void, undefined> {
    let lastEventId: string | number | undefined;
    const started = Date.now();
    const input = resendable(data);
    for (let attempt = 1;; attempt++) {
      // Every try, connecting included, gets only what is left of the deadline.
      const left = attempt === 1
        ? options
        : resend(name, input, options, started, undefined);
      if (left instanceof ClientError) throw left;
      const session = await this.#connectedSession(left);
      const call = session.openStream(name, input.data, {
        ...remainingTime(options, started),
        lastEventId,
      });
      try {
        for await (const item of call.receiver) {
          attempt = 1; // Each drop gets the full retry budget.
          yield item;
        }
        return;
      } catch (error) {
        const isDropped = error instanceof ClientError &&
          error.code === "CONNECTION_CLOSED" && !wasClosedByUser(error);
        // An attempt that brought no item leaves the resume point where it was.
        const resumeFrom = call.lastEventId ?? lastEventId;
        const canResume = !this.#isClosed &&
          ((isDropped && resumeFrom !== undefined) || wasNotRun(error));
        if (!canResume || attempt >= this.#attempts + 1) throw error;
        if (input.isUsed()) throw notResendable(name, error);
        lastEventId = resumeFrom;
        if (!wasNotRun(error)) await this.#wait(this.#backoff(attempt));
      }
    }
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
    await this.#connectedSession();
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

  /**
   * Connects and completes the handshake. A handshake cut or timed out is
   * part of connecting: it is tried again, within the same `retry` budget
   * as the connection itself.
   */
  async #open(): Promise<Session> {
    // A server that said goodbye is shutting down: try once, and fail fast.
    let serverLeft = this.#serverLeft ||
      this.#session?.isPeerLeaving === true;
    this.#serverLeft = false;
    let attempts = serverLeft ? 1 : this.#attempts;
    for (let used = 0;;) {
      let transport: Transport;
      try {
        const dialed = await this.#dial(attempts - used);
        transport = dialed.transport;
        used += dialed.attempts;
      } catch (error) {
        this.emit("error", error as Error);
        if (!serverLeft) throw error;
        throw new ClientError(
          "CONNECTION_CLOSED",
          `The server at ${this.#address} shut down, and nothing answers there now.`,
          { cause: error },
        );
      }
      // Something answers again (a restarted server, say): connect to it
      // like to any other, cut handshakes retried within the whole budget.
      // No call was sent yet, so none may fail as if it had been.
      serverLeft = false;
      attempts = this.#attempts;
      try {
        return await this.#handshake(transport);
      } catch (error) {
        if (!isHandshakeFailure(error) || this.#isClosed) throw error;
        if (used >= attempts) {
          throw new ClientError(
            "CONNECT_FAILED",
            `Cannot connect to ${this.#address} after ${used} attempt${
              used === 1 ? "" : "s"
            }: the handshake did not complete (${(error as Error).message})`,
            { cause: error },
          );
        }
        await this.#wait(this.#backoff(used));
      }
    }
  }

  /** Runs the hello (and authentication) on a new connection. */
  async #handshake(transport: Transport): Promise<Session> {
    if (this.#isClosed) {
      transport.close();
      throw closedError();
    }
    const session = new Session(
      transport,
      {
        ...this.#sessionOptions,
        codec: this.#codec,
        role: "client",
        actions: this.#actions.find,
        offersActions: () => this.#actions.size > 0,
        auth: await this.#authenticator(),
      },
    );
    this.#sessions.add(session);
    session.closed.then(() => {
      this.#sessions.delete(session);
      if (this.#session === session) {
        this.#session = undefined;
        if (session.isPeerLeaving) this.#serverLeft = true;
      }
    });
    try {
      await session.ready;
    } catch (error) {
      this.emit("error", error as Error);
      throw error;
    }
    this.#session = session;
    this.emit("connect", { hostname: this.#hostname, port: this.#port });
    session.closed.then(() => this.emit("disconnect", session.endReason));
    return session;
  }

  /** The key from the secret, made once. */
  #authenticator(): Promise<Authenticator> {
    const { secret, credentials } = this.#options;
    this.#auth ??= (async () => ({
      key: secret === undefined ? undefined : await importSecret(secret),
      credentials,
    }))();
    return this.#auth;
  }

  get #address(): string {
    return this.#hostname.includes(":")
      ? `[${this.#hostname}]:${this.#port}`
      : `${this.#hostname}:${this.#port}`;
  }

  /**
   * Connects, trying up to `attempts` times with exponential backoff and
   * jitter; each try may take `handshakeTimeout`. A certificate the client
   * does not accept fails at once: trying again cannot help. Says how many
   * tries it took.
   */
  async #dial(
    attempts: number,
  ): Promise<{ transport: Transport; attempts: number }> {
    for (let attempt = 1;; attempt++) {
      try {
        const transport = await dialOnce({
          hostname: this.#hostname,
          port: this.#port,
          tls: this.#options.tls,
          timeout: this.#sessionOptions.handshakeTimeout,
          signal: this.#closing.signal,
          maxFrameSize: this.#sessionOptions.maxFrameSize,
          maxFirstFrameSize: MAX_HELLO_SIZE,
        });
        return { transport, attempts: attempt };
      } catch (error) {
        const isCertificateFailure = isCertificateError(error);
        const isFinal = attempt >= attempts || this.#isClosed ||
          isCertificateFailure ||
          error instanceof Deno.errors.NotCapable ||
          error instanceof Deno.errors.PermissionDenied;
        if (isFinal) {
          throw new ClientError(
            isCertificateFailure ? "TLS_FAILED" : "CONNECT_FAILED",
            `Cannot connect to ${this.#address} after ${attempt} attempt${
              attempt === 1 ? "" : "s"
            }: ${(error as Error)?.message ?? error}. ${
              connectHint(error, this.#options.tls)
            }`,
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

const MAX_TIMER = 2 ** 31 - 1;

/** What to check, after a failed connection attempt. */
function connectHint(error: unknown, tls: ClientOptions["tls"]): string {
  const isTlsFailure = tls !== undefined && tls !== false &&
    error instanceof Error && !(error instanceof Deno.errors.ConnectionRefused);
  return isTlsFailure
    ? "Is the server serving TLS, with a certificate this client trusts (tls.caCerts)?"
    : "Is the server running there?";
}

/** A call's data, and whether it was a stream some of which was already sent. */
interface Resendable {
  data: unknown;
  /** Whether items were already pulled from it: an input stream cannot be replayed. */
  isUsed(): boolean;
}

/** Wraps an input stream to know whether anything was pulled from it. */
function resendable(data: unknown): Resendable {
  if (!isStreamSource(data)) return { data, isUsed: () => false };
  let isUsed = false;
  const source = data;
  return {
    data: {
      [Symbol.asyncIterator](): AsyncIterator<unknown> {
        const iterator = source[Symbol.asyncIterator]();
        return {
          next: () => {
            isUsed = true;
            return iterator.next();
          },
          return: (value?: unknown) =>
            iterator.return?.(value) ??
              Promise.resolve({ value: undefined, done: true }),
        };
      },
    },
    isUsed: () => isUsed,
  };
}

/**
 * The options to send a call again with, or why it cannot be: its
 * deadline is past, or its input stream was already (partly) sent.
 */
function resend(
  name: string,
  input: Resendable,
  options: CallOptions | undefined,
  started: number,
  error: unknown,
): CallOptions | undefined | ClientError {
  if (input.isUsed()) return notResendable(name, error);
  const left = timeLeft(options, started);
  if (left !== undefined && left <= 0) {
    return new ClientError(
      "TIMEOUT",
      `"${name}" did not answer within ${
        options!.timeout
      } ms (tries included).`,
      error === undefined ? undefined : { cause: error },
    );
  }
  return remainingTime(options, started);
}

function notResendable(name: string, cause: unknown): ClientError {
  return new ClientError(
    "NOT_RESENDABLE",
    `The call to "${name}" was cut after its input stream was (partly) sent; a consumed stream cannot be sent again: call again with a fresh one.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Milliseconds left of a call's deadline; `undefined` when it has none. */
function timeLeft(
  options: CallOptions | undefined,
  started: number,
): number | undefined {
  if (!options?.timeout) return undefined;
  return options.timeout - (Date.now() - started);
}

/** A handshake that was cut or timed out: a connection attempt to try again. */
function isHandshakeFailure(error: unknown): boolean {
  return error instanceof ClientError && !wasClosedByUser(error) &&
    (error.code === "CONNECTION_CLOSED" || error.code === "CONNECT_FAILED");
}

/** The options of a call, with the time already spent taken off its timeout. */
function remainingTime<T extends CallOptions>(
  options: T | undefined,
  started: number,
): T | undefined {
  if (!options?.timeout) return options;
  return {
    ...options,
    timeout: Math.max(1, options.timeout - (Date.now() - started)),
  };
}

/** `promise`, or a `TIMEOUT` / `ABORTED` failure when the call's deadline or signal comes first. */
function withDeadline<T>(
  promise: Promise<T>,
  options: CallOptions,
): Promise<T> {
  const { timeout, signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      done();
      reject(abortedError(signal!));
    };
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (timeout) {
      timer = setTimeout(() => {
        done();
        reject(
          new ClientError(
            "TIMEOUT",
            `No connection to the server within the call's ${timeout} ms.`,
          ),
        );
      }, timeout);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(error);
      },
    );
  });
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

/** Errors of this client's own closing, which no retry may undo. */
const closedErrors = new WeakSet<Error>();

function closedError(): ClientError {
  const error = new ClientError("CONNECTION_CLOSED", "The client was closed.");
  closedErrors.add(error);
  return error;
}

function wasClosedByUser(error: Error): boolean {
  return closedErrors.has(error);
}
