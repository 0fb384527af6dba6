/**
 * One connection attempt of a client, on any runtime, plain or TLS, under
 * a deadline: a server that accepts and then says nothing (or a network
 * that drops the packets) costs the attempt its deadline, never a hang,
 * and the socket is released when it runs out. Plain TCP and Unix sockets
 * go through Deno's own API on Deno and `node:net` on Node and Bun; TLS
 * through `node:tls` everywhere.
 *
 * @module
 */

import { denoDial } from "./deno_sockets.ts";
import type { DialOptions } from "./dial_options.ts";
import { nodeDial } from "./node_sockets.ts";
import { hasDenoSockets } from "./runtime.ts";
import { tlsDial } from "./tls_sockets.ts";
import type { Transport } from "./transport.ts";

export type { DialOptions } from "./dial_options.ts";
export { isCertificateError } from "./net_errors.ts";

/**
 * Connects once.
 *
 * @param options Where, how, and how long.
 * @returns The transport of the open connection.
 * @throws {SocketError} `timeout` when the deadline passes first,
 * `interrupted` when the signal aborts; otherwise what the connection
 * attempt failed with (`classifyNetError` tells its kind).
 */
export function dialOnce(options: DialOptions): Promise<Transport> {
  const { tls } = options;
  if (tls !== undefined && tls !== false) {
    return tlsDial(options, tls === true ? undefined : tls.caCerts);
  }
  return hasDenoSockets ? denoDial(options) : nodeDial(options);
}
