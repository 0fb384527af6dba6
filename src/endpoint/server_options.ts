/**
 * A server's options: their types, documented for users, and how they are
 * read (defaults and bounds) into what the server runs with.
 *
 * @module
 */

import { ServerError } from "../base/errors.ts";
import type { Authenticate } from "../protocol/auth.ts";
import type { Peer } from "../dispatch/peer.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import {
  checkReflection,
  type ConnectionConfig,
  type ConnectionOptions,
  type IntegerRule,
  parseOptions,
  readConnectionConfig,
  readPath,
  type Rows,
  SERVER_PORT,
} from "./options.ts";

/** Options of {@linkcode Server}. */
export interface ServerOptions extends ConnectionOptions {
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

/** A server's integer options, besides what every connection takes. */
export type ServerOwnOptions = Pick<
  ServerOptions,
  "port" | "idleTimeout" | "maxConnections"
>;

/** The rows of {@linkcode ServerOwnOptions}. */
export const SERVER_OPTIONS: Rows<ServerOwnOptions> = {
  port: { ...SERVER_PORT, doc: "The port to listen on; 0 picks a free one." },
  idleTimeout: {
    default: 300_000,
    min: 0,
    max: MAX_TIMEOUT,
    doc: "Milliseconds a connection may stay without calls; 0 for ever.",
  },
  maxConnections: {
    default: 10_000,
    min: 1,
    max: 2 ** 31,
    doc: "The most clients connected at once.",
  },
};

/** What a server runs with: its options read and checked once, frozen. */
export interface ServerConfig extends Readonly<Required<ServerOwnOptions>> {
  /** The host name to listen on. */
  readonly hostname: string;
  /** The Unix socket path to listen on instead, if any. */
  readonly path: string | undefined;
  /** Whether error stacks go to clients. */
  readonly exposeStack: boolean;
  /** What every connection runs with. */
  readonly connection: ConnectionConfig;
}

/**
 * Reads and checks a server's options, in the order a server always
 * checked them (`reflection`, `path`, `port`, `idleTimeout`,
 * `maxConnections`, the limits, `secret`, `extensions`), so a bad set of
 * options fails with the same first error.
 *
 * @param options The server's options, as given.
 * @returns What the server runs with.
 * @throws {ServerError} `INVALID_OPTIONS` for a bad option.
 * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
 *
 * @example
 * ```ts
 * import { resolveServerConfig } from "./server_options.ts";
 * import assert from "node:assert/strict";
 *
 * const config = resolveServerConfig({});
 * assert.equal(config.port, 0);
 * assert.equal(config.exposeStack, true); // 127.0.0.1 by default
 * assert.throws(() => resolveServerConfig({ maxConnections: 0 }), { code: "INVALID_OPTIONS" });
 * ```
 */
export function resolveServerConfig(options: ServerOptions): ServerConfig {
  checkReflection(options.reflection, invalidOption);
  const path = readPath(options, invalidOption);
  const hostname = options.hostname ?? "127.0.0.1";
  const own = parseOptions(SERVER_OPTIONS, options, invalidOption, [
    "port",
    "idleTimeout",
    "maxConnections",
  ]) as Required<ServerOwnOptions>;
  const connection = readConnectionConfig(options, invalidOption);
  // A Unix socket takes connections from this machine only.
  const exposeStack = options.exposeStack ??
    (path !== undefined || isLoopback(hostname));
  return Object.freeze({ ...own, hostname, path, exposeStack, connection });
}

/**
 * Makes the error a bad server option throws.
 *
 * @param message What is wrong.
 * @returns A `ServerError` `INVALID_OPTIONS`.
 */
export function invalidOption(message: string): ServerError {
  return new ServerError("INVALID_OPTIONS", message);
}

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
