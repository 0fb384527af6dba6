/**
 * A server's listening socket, on any runtime: plain TCP and Unix sockets
 * through Deno's own API on Deno and `node:net` on Node and Bun; TLS
 * through `node:tls` everywhere. Each accepted connection is handed on as
 * a transport.
 *
 * @module
 */

import { denoListen } from "./deno_sockets.ts";
import { nodeListen } from "./node_sockets.ts";
import { hasDenoSockets } from "./runtime.ts";
import { tlsListen } from "./tls_sockets.ts";
import type {
  Listener,
  ListenerEvents,
  ListenOptions,
} from "./listen_options.ts";

export type {
  Listener,
  ListenerEvents,
  ListenOptions,
} from "./listen_options.ts";

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
