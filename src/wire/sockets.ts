/**
 * Sockets on any runtime: a server's listening socket
 * ({@linkcode listenSocket}) and a client's connection attempt
 * ({@linkcode dialSocket}). Plain TCP and Unix sockets go through Deno's own
 * API on Deno and `node:net` on Node and Bun; TLS through `node:tls`
 * everywhere. Each connection is handed on as a transport.
 *
 * @module
 */

import { denoDial, denoListen } from "./deno_sockets.ts";
import { nodeDial, nodeListen } from "./node_sockets.ts";
import { tlsDial, tlsListen } from "./tls_sockets.ts";
import type {
  DialOptions,
  Listener,
  ListenerEvents,
  ListenOptions,
  Transport,
} from "./transport.ts";

// Which socket API this runtime offers: Deno's own (`Deno.listen`,
// `Deno.connect`), or `node:net` (Node and Bun). Decided once, by looking
// at the global object only: no permission is asked.

/**
 * Whether Deno's own socket API is here. `false` on Node and Bun, and
 * wherever a `Deno` global is only a partial stand-in.
 */
export const hasDenoSockets: boolean = typeof (
      globalThis as { Deno?: { listen?: unknown; connect?: unknown } }
    ).Deno?.connect === "function" &&
  typeof (globalThis as { Deno?: { listen?: unknown } }).Deno?.listen ===
    "function";

/**
 * Binds the address and starts taking connections.
 *
 * @param options Where, and with which certificate if TLS.
 * @param events Where new connections and accept failures go.
 * @returns The listener.
 * @throws what binding failed with, as the runtime reports it
 * (`classifyNetError` tells its kind).
 */
export function listenSocket(
  options: ListenOptions,
  events: ListenerEvents,
): Promise<Listener> {
  if (options.tls !== undefined) return tlsListen(options, options.tls, events);
  return hasDenoSockets
    ? Promise.resolve().then(() => denoListen(options, events))
    : nodeListen(options, events);
}

// One connection attempt of a client, on any runtime, plain or TLS, under
// a deadline: a server that accepts and then says nothing (or a network
// that drops the packets) costs the attempt its deadline, never a hang,
// and the socket is released when it runs out. Plain TCP and Unix sockets
// go through Deno's own API on Deno and `node:net` on Node and Bun; TLS
// through `node:tls` everywhere.

/**
 * Connects once.
 *
 * @param options Where, how, and how long.
 * @returns The transport of the open connection.
 * @throws {SocketError} `timeout` when the deadline passes first,
 * `interrupted` when the signal aborts; otherwise what the connection
 * attempt failed with (`classifyNetError` tells its kind).
 */
export function dialSocket(options: DialOptions): Promise<Transport> {
  const { tls } = options;
  if (tls !== undefined && tls !== false) {
    return tlsDial(options, tls === true ? {} : tls);
  }
  return hasDenoSockets ? denoDial(options) : nodeDial(options);
}
