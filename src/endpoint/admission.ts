/**
 * Which connections a server takes: every new connection gets a session
 * at once (before any TLS handshake completes, so a half-open connection
 * counts against `maxConnections` and is closed by `handshakeTimeout` like
 * a silent one), and a connection over the limit is refused through a
 * session like any goodbye: a hello, then an `OVERLOADED` goodbye.
 *
 * @module
 */

import { RemoteError, ServerError } from "../base/errors.ts";
import type { Authenticator } from "../protocol/auth.ts";
import { MAX_HELLO_SIZE } from "../protocol/hello.ts";
import type { Session } from "../session/session.ts";
import type { Transport } from "../wire/transport.ts";
import { type Endpoint, openSession } from "./open_session.ts";

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
