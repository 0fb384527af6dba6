/**
 * A server's options: their types, documented for users, and how they are
 * read (defaults and bounds) into what the server runs with.
 *
 * @module
 */

import type { Extension } from "../codec/extension.ts";
import type { Authenticate } from "../protocol/auth.ts";
import type { Peer } from "../dispatch/peer.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import { type IntegerRule, SERVER_PORT } from "./connection_options.ts";

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
   * Listen on this Unix socket path instead of TCP (not with `hostname`
   * or `port`). Only processes on this machine that may open the file can
   * connect. Deno needs `--allow-read --allow-write` for the path, besides
   * `--allow-net`.
   */
  path?: string;
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
   * Clients connect with their `tls` option. With `caCerts`, clients must
   * also present a certificate signed by one of those authorities (mutual
   * TLS); others are refused during the TLS handshake.
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
  /**
   * Whether the server answers the built-in describe request
   * (`client.describe()`, `isock ls`): its actions' names, idempotence,
   * whether they stream, and their schemas as JSON Schema. Authenticated
   * clients only, like any call. With `false` the request is answered
   * `UNKNOWN_ACTION`, as for any name the server does not know.
   *
   * @default {true}
   */
  reflection?: boolean;
}

/** The certificate and key of a TLS server, PEM-encoded. */
export interface ServerTlsOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /**
   * Require client certificates signed by one of these authorities (PEM):
   * a client without one is refused during the handshake (it fails with
   * `TLS_FAILED`; the server emits an `error` event).
   */
  caCerts?: string[];
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
   * their handlers' signals abort, they get 250 ms more to return, and the
   * connections close anyway (see `Server.shutdown`).
   *
   * @default {10000}
   */
  timeout?: number;
}

/** Where a server listens. */
export interface ServerAddress {
  /** The IP address (the socket path, for a Unix socket). */
  hostname: string;
  /** The port (0 for a Unix socket). */
  port: number;
  /** The Unix socket path, when the server listens on one. */
  path?: string;
}

/** The server's own integer options, besides the limits every connection has. */
export const SERVER_OPTIONS: {
  readonly [K in "port" | "idleTimeout" | "maxConnections"]: IntegerRule;
} = {
  port: SERVER_PORT,
  idleTimeout: { default: 300_000, min: 0, max: MAX_TIMEOUT },
  maxConnections: { default: 10_000, min: 1, max: 2 ** 31 },
};

/** The rules of {@linkcode ShutdownOptions}. */
export const SHUTDOWN_OPTIONS: { readonly timeout: IntegerRule } = {
  timeout: { default: 10_000, min: 0, max: MAX_TIMEOUT },
};

/**
 * Whether a listen address takes connections from this machine only:
 * such a server sends error stacks by default.
 *
 * @param hostname The address to listen on.
 * @returns Whether it is a loopback address.
 */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" ||
    /^127\./.test(hostname);
}
