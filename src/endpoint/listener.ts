/**
 * A server's listening socket, on any runtime (the wire layer picks the
 * socket API): a failure to bind becomes a `ServerError` that names the
 * address.
 *
 * @module
 */

import {
  formatAddress,
  type Listener,
  type ListenerEvents,
  type ListenOptions,
} from "../wire/transport.ts";
import { ServerError } from "../base/errors.ts";
import { listenSocket } from "../wire/sockets.ts";
import { classifyNetError } from "../wire/net_errors.ts";

/**
 * Binds the address and starts taking connections.
 *
 * @param options Where, and with which certificate if TLS.
 * @param events Where new connections and accept failures go.
 * @returns The listener.
 * @throws {ServerError} `ADDR_IN_USE` when the port is taken,
 * `LISTEN_FAILED` for other bind failures.
 */
export async function listen(
  options: ListenOptions,
  events: ListenerEvents,
): Promise<Listener> {
  try {
    return await listenSocket(options, events);
  } catch (error) {
    throw bindError(
      error,
      options.path === undefined ? options : {
        hostname: options.path,
        port: 0,
        transport: "unix",
      },
    );
  }
}

/**
 * The error of a failed bind, naming the address (IPv6 in brackets).
 *
 * @param error What binding failed with, on whichever runtime.
 * @param where The address asked for.
 * @returns `ADDR_IN_USE` when the port is taken, `LISTEN_FAILED` otherwise.
 */
export function bindError(
  error: unknown,
  where: {
    readonly hostname: string;
    readonly port: number;
    readonly transport?: "tcp" | "unix";
  },
): ServerError {
  const address = formatAddress(where);
  if (classifyNetError(error) === "addr-in-use") {
    return new ServerError(
      "ADDR_IN_USE",
      `Cannot listen on ${address}: the ${
        where.transport === "unix" ? "socket path" : "port"
      } is already in use. Stop the other server, or choose another ${
        where.transport === "unix" ? "path" : "port (0 picks a free one)"
      }.`,
      { cause: error },
    );
  }
  return new ServerError(
    "LISTEN_FAILED",
    `Cannot listen on ${address}: ${(error as Error)?.message ?? error}`,
    { cause: error },
  );
}
