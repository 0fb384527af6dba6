/**
 * A client's connection to its server: opened on demand, tried up to
 * `retry` times with backoff, its handshake tried again within the same
 * budget, and replaced by a new one after it drops.
 *
 * @module
 */

import {
  formatAddress,
  type TlsTrust,
  type Transport,
} from "../wire/transport.ts";
import { ClientError } from "../base/errors.ts";
import { type Deadline, setupEnds } from "../base/deadline.ts";
import { type Authenticator, importSecret } from "../protocol/auth.ts";
import { MAX_HELLO_SIZE } from "../protocol/hello.ts";
import type { Session } from "../session/session.ts";
import { dialSocket } from "../wire/sockets.ts";
import { classifyNetError } from "../wire/net_errors.ts";
import { dialWebSocket } from "../wire/websocket_transport.ts";
import type { SentOptions } from "../session/outgoing_calls.ts";
import type { Backoff } from "./backoff.ts";
import { type Endpoint, openSession } from "./open_session.ts";
import type { Redial } from "./resend.ts";

/** Where the server is, and how to reach it. */
export interface ServerLocation {
  /** The server's host name or IP address. */
  readonly hostname: string;
  /** The server's port. */
  readonly port: number;
  /** The server's Unix socket path, instead of `hostname` and `port`. */
  readonly path?: string;
  /** A WebSocket server's URL, instead of `hostname`, `port` and `path`. */
  readonly url?: URL;
  /** TLS: `true` trusts the usual authorities; `caCerts` trusts these instead. */
  readonly tls?: boolean | TlsTrust;
  /** The shared secret, proved by challenge and response. */
  readonly secret?: string | Uint8Array;
  /** What the server's `authenticate` function gets. */
  readonly credentials?: unknown;
}

/** What a connector tells its client. */
export interface ConnectorEvents {
  /** A connection is open and ready for calls. */
  connect(): void;
  /**
   * The connection closed; `reason` when it was not a clean close, and
   * whether the server said goodbye first.
   */
  disconnect(reason: Error | undefined, isServerLeaving?: boolean): void;
  /** A connection could not be made or completed. */
  error(error: Error): void;
}

/** Opens, reopens and closes a client's connection; sends its calls. */
export class Connector implements Redial {
  /** How many tries a connection (and a dropped idempotent call) gets. */
  readonly attempts: number;
  readonly #location: ServerLocation;
  readonly #endpoint: Endpoint;
  readonly #backoff: Backoff;
  readonly #events: ConnectorEvents;
  /** Every session not yet closed: the current one, and older ones still finishing calls. */
  readonly #sessions = new Set<Session>();
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  #auth: Promise<Authenticator> | undefined;
  #isClosed = false;
  /** The server said goodbye: the next connection is tried once, and fails fast. */
  #serverLeft = false;
  readonly #closing = new AbortController();

  /**
   * Creates a `Connector`; it connects on the first call.
   *
   * @param location Where the server is, TLS and authentication.
   * @param endpoint The codec, limits and actions of the client.
   * @param attempts How many tries a connection gets (at least 1).
   * @param backoff The waits between tries.
   * @param events Where to report connections, drops and failures.
   */
  constructor(
    location: ServerLocation,
    endpoint: Endpoint,
    attempts: number,
    backoff: Backoff,
    events: ConnectorEvents,
  ) {
    this.#location = location;
    this.#endpoint = endpoint;
    this.attempts = attempts;
    this.#backoff = backoff;
    this.#events = events;
  }

  /** Whether {@linkcode Connector.close} was called. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Whether a connection is open now. */
  get isConnected(): boolean {
    return this.#session?.isOpen ?? false;
  }

  /**
   * Sends a call on the open connection, connecting first when there is
   * none; connecting counts against the call's deadline.
   *
   * @param name The action's name.
   * @param data Its input.
   * @param options Deadline and signal.
   * @returns What the action returned.
   */
  call(name: string, data: unknown, options: SentOptions): Promise<unknown> {
    const session = this.#session;
    if (session !== undefined && session.isOpen) {
      return session.call(name, data, options);
    }
    return this.connected(options).then((session) =>
      session.call(name, data, options)
    );
  }

  /**
   * The open session, connecting first when there is none. A call's
   * deadline and signal cover the connecting too: a server that does not
   * answer costs the caller no more than its timeout.
   *
   * @param options The deadline and signal of the connecting.
   * @returns The session, ready for calls.
   */
  connected(options?: SentOptions): Promise<Session> {
    const session = this.#session;
    if (session !== undefined && session.isOpen) {
      return Promise.resolve(session);
    }
    // The deadline started with the call: an attempt timed out after as
    // long as the call may wait was cut by the call's deadline.
    const connecting = this.#connect();
    const deadline = options?.deadline;
    return deadline === undefined
      ? connecting
      : deadline.race(connecting, setupEnds(deadline));
  }

  /**
   * Waits the backoff after failed try number `attempt`, or less: until
   * the call's deadline or the close.
   *
   * @param attempt How many tries failed so far.
   * @param deadline The call's deadline, if a call waits.
   * @returns Resolves when the wait is over.
   */
  pause(attempt: number, deadline?: Deadline): Promise<void> {
    return this.#backoff.pause(attempt, deadline, this.#closing.signal);
  }

  /**
   * Closes every connection; calls still waiting reject with
   * `CONNECTION_CLOSED`, and so do later ones.
   *
   * @returns Resolves once every connection is closed.
   */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#isClosed = true;
      this.#closing.abort();
      this.#session = undefined;
    }
    const reason = closedError("maybe");
    return Promise.all(
      [...this.#sessions].map((session) => session.close(reason)),
    ).then(() => {});
  }

  #connect(): Promise<Session> {
    if (this.#isClosed) return Promise.reject(closedError(false));
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
    let attempts = serverLeft ? 1 : this.attempts;
    for (let used = 0;;) {
      let transport: Transport;
      try {
        const dialed = await this.#dial(attempts - used);
        transport = dialed.transport;
        used += dialed.attempts;
      } catch (error) {
        this.#events.error(error as Error);
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
      attempts = this.attempts;
      try {
        return await this.#handshake(transport);
      } catch (error) {
        if (!isHandshakeFailure(error) || this.#isClosed) throw error;
        const tls = this.#location.tls;
        if (tls !== undefined && tls !== false && isTlsAlert(error)) {
          // The server refused this client during the TLS handshake (its
          // certificate, say): trying again cannot help.
          throw new ClientError(
            "TLS_FAILED",
            `Cannot connect to ${this.#address}: the server refused the TLS connection (${
              (error as Error).message
            }). ${CLIENT_CERTIFICATE_HINT}`,
            { cause: error },
          );
        }
        if (used >= attempts) {
          throw new ClientError(
            "CONNECT_FAILED",
            `Cannot connect to ${this.#address} after ${used} attempt${
              used === 1 ? "" : "s"
            }: the handshake did not complete (${(error as Error).message})${
              tls !== undefined && tls !== false
                ? `. ${CLIENT_CERTIFICATE_HINT}`
                : ""
            }`,
            { cause: error },
          );
        }
        await this.pause(used);
      }
    }
  }

  /** Runs the hello (and authentication) on a new connection. */
  async #handshake(transport: Transport): Promise<Session> {
    if (this.#isClosed) {
      transport.close();
      throw closedError(false);
    }
    const session = openSession(
      transport,
      this.#endpoint,
      await this.#authenticator(),
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
      this.#events.error(error as Error);
      throw error;
    }
    this.#session = session;
    this.#events.connect();
    session.closed.then(() =>
      this.#events.disconnect(session.endReason, session.isPeerLeaving)
    );
    return session;
  }

  /** The key from the secret, made once. */
  #authenticator(): Promise<Authenticator> {
    const { secret, credentials } = this.#location;
    this.#auth ??= (async () => ({
      key: secret === undefined ? undefined : await importSecret(secret),
      credentials,
    }))();
    return this.#auth;
  }

  get #address(): string {
    const { path, url } = this.#location;
    if (url !== undefined) return url.href;
    return formatAddress(
      path === undefined
        ? this.#location
        : { hostname: path, port: 0, transport: "unix" },
    );
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
    const { hostname, port, path, url, tls } = this.#location;
    const { handshakeTimeout, maxFrameSize } = this.#endpoint.limits;
    for (let attempt = 1;; attempt++) {
      try {
        const limits = {
          timeout: handshakeTimeout,
          signal: this.#closing.signal,
          maxFrameSize,
          maxFirstFrameSize: MAX_HELLO_SIZE,
        };
        const transport = await (url !== undefined
          ? dialWebSocket(url, limits)
          : dialSocket({ hostname, port, path, tls, ...limits }));
        return { transport, attempts: attempt };
      } catch (error) {
        const kind = classifyNetError(error);
        const isCertificateFailure = kind === "certificate";
        // Trying again cannot help a certificate the client does not
        // accept, nor a connection the runtime does not permit.
        const isFinal = attempt >= attempts || this.#isClosed ||
          isCertificateFailure || kind === "permission";
        if (isFinal) {
          throw new ClientError(
            isCertificateFailure ? "TLS_FAILED" : "CONNECT_FAILED",
            `Cannot connect to ${this.#address} after ${attempt} attempt${
              attempt === 1 ? "" : "s"
            }: ${(error as Error)?.message ?? error}. ${
              connectHint(error, tls)
            }`,
            { cause: error },
          );
        }
        await this.pause(attempt);
      }
    }
  }
}

/** What to check, after a failed connection attempt. */
function connectHint(error: unknown, tls: ServerLocation["tls"]): string {
  const isTlsFailure = tls !== undefined && tls !== false &&
    error instanceof Error && classifyNetError(error) !== "refused";
  return isTlsFailure
    ? "Is the server serving TLS, with a certificate this client trusts (tls.caCerts)?"
    : "Is the server running there?";
}

/**
 * The error of calls cut by the client's own closing: `false` when the
 * call was never sent, `"maybe"` for calls on their way.
 */
function closedError(wasRun: false | "maybe"): ClientError {
  return new ClientError("CONNECTION_CLOSED", "The client was closed.", {
    wasRun,
  });
}

/** What to check when a TLS server refused or cut the connection. */
const CLIENT_CERTIFICATE_HINT =
  "If the server requires client certificates (its tls.caCerts), give this client tls.cert and tls.key signed by one of them.";

/** Whether a failure, or one of its causes, is a TLS alert from the peer. */
function isTlsAlert(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && /^ERR_SSL_.*ALERT/.test(code)) return true;
  }
  return false;
}

/** A handshake that was cut or timed out: a connection attempt to try again. */
function isHandshakeFailure(error: unknown): boolean {
  return error instanceof ClientError &&
    (error.code === "CONNECTION_CLOSED" || error.code === "CONNECT_FAILED");
}
