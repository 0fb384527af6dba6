/**
 * What one connection attempt of a client needs: where, TLS or not, and
 * how long it may take.
 *
 * @module
 */

import type { Deadline } from "./deadline.ts";
import type { TransportOptions } from "./transport.ts";

/** Where and how to connect. */
export interface DialOptions extends TransportOptions, Deadline {
  /** The server's host name or IP address (unused with `path`). */
  hostname: string;
  /** The server's port (unused with `path`). */
  port: number;
  /** Connect to this Unix socket path instead of TCP. */
  path?: string;
  /** TLS: `true` trusts the usual certificate authorities; `caCerts` trusts these instead (PEM). */
  tls?: boolean | TlsTrust;
}

/** Whom a TLS client trusts, and the certificate it presents. */
export interface TlsTrust {
  /** The authorities to trust instead of the built-in list (PEM). */
  caCerts?: string[];
  /** Skip checking the server's certificate (encrypted, not authenticated). */
  insecureSkipVerify?: boolean;
  /** The client's own certificate chain (PEM), for servers that ask for one. */
  cert?: string;
  /** The private key of `cert` (PEM). */
  key?: string;
}

/**
 * The address of a dial, as `formatAddress` writes it.
 *
 * @param options Where the dial goes.
 * @returns Host and port, or the Unix socket path.
 */
export function dialAddress(
  options: DialOptions,
): { hostname: string; port: number; transport: "tcp" | "unix" } {
  return options.path === undefined
    ? { hostname: options.hostname, port: options.port, transport: "tcp" }
    : { hostname: options.path, port: 0, transport: "unix" };
}
