/**
 * Plain TCP and Unix sockets through `node:net`, for Node and Bun (Deno
 * uses its own API, deno_sockets.ts). The TLS socket layer builds on the
 * same listen and connect steps.
 *
 * @module
 */

import type { Socket } from "node:net";
import {
  dialAddress,
  type DialOptions,
  formatAddress,
  type Listener,
  type ListenerEvents,
  type ListenOptions,
  type PeerAddress,
  type Transport,
  type TransportOptions,
} from "./transport.ts";
import { ignore } from "../base/timers.ts";
import { raceDeadline } from "../base/deadline.ts";
import { clientClosed, SocketError } from "./net_errors.ts";
import { loadNodeBuiltins } from "./node_builtins.ts";
import { socketTransport } from "./socket_transport.ts";

/** Turns an accepted socket into a transport (TLS wraps it first). */
export type Accept = (
  socket: Socket,
  frames: TransportOptions,
  peer: PeerAddress | undefined,
) => Transport;

/**
 * Binds with `node:net` and hands on every accepted socket.
 *
 * @param options Where to listen, and the frame limits.
 * @param events Where new connections and accept failures go.
 * @param accept Makes the transport of an accepted socket; plain by default.
 * @returns The listener, once bound.
 * @throws the bind error, with its `code` (`EADDRINUSE`, …).
 */
export async function nodeListen(
  options: ListenOptions,
  events: ListenerEvents,
  accept: Accept = (socket, frames, peer) =>
    socketTransport(socket, frames, undefined, peer),
): Promise<Listener> {
  const { path, frames } = options;
  // An accepted Unix socket has no address of its own.
  const unixPeer: PeerAddress | undefined = path === undefined
    ? undefined
    : { hostname: "", port: 0, transport: "unix" };
  const { net } = await loadNodeBuiltins();
  const server = net.createServer((socket) => {
    if (path === undefined) socket.setNoDelay(true);
    events.connection(accept(socket, frames, unixPeer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(
      path === undefined ? { host: options.hostname, port: options.port } : {
        path,
      },
      () => {
        server.off("error", reject);
        resolve();
      },
    );
  });
  // Out of file descriptors, say: the server goes on listening.
  server.on("error", (error: Error) => events.error(error));
  const address = server.address();
  const bound = typeof address === "object" && address !== null
    ? { hostname: address.address, port: address.port }
    : { hostname: path ?? "", port: 0 };
  return {
    ...bound,
    close: () => {
      // Stops accepting; open connections are their sessions' to close.
      server.close();
      return Promise.resolve();
    },
  };
}

/**
 * Connects once with `node:net`, under the attempt's deadline.
 *
 * @param options Where, and how long.
 * @returns The transport of the open connection.
 * @throws {SocketError} `timeout` or `interrupted` when the attempt lost
 * the race; otherwise the socket's error, with its `code`.
 */
export async function nodeDial(options: DialOptions): Promise<Transport> {
  const { path } = options;
  const { net } = await loadNodeBuiltins();
  const socket = path === undefined
    ? net.connect({ host: options.hostname, port: options.port })
    : net.connect({ path });
  if (path === undefined) socket.setNoDelay(true);
  await whenReady(
    socket,
    "connect",
    options,
    `No connection to ${
      formatAddress(dialAddress(options))
    } within ${options.timeout} ms.`,
  );
  return socketTransport(
    socket,
    options,
    undefined,
    path === undefined
      ? undefined
      : { hostname: path, port: 0, transport: "unix" },
  );
}

/**
 * Waits for `event` (`connect`, or `secureConnect` for TLS) under the
 * deadline; destroys the socket when it fails or loses the race.
 *
 * @param socket The connecting socket.
 * @param event The event that says it is ready.
 * @param options How long it may take.
 * @param message What a timeout says.
 * @returns Resolves once the socket is ready.
 */
export async function whenReady(
  socket: Socket,
  event: string,
  options: DialOptions,
  message: string,
): Promise<void> {
  let onError: (error: Error) => void = ignore;
  const ready = new Promise<void>((resolve, reject) => {
    onError = reject;
    socket.once(event, () => resolve());
    socket.on("error", onError);
  });
  try {
    await raceDeadline(ready, options.timeout, options.signal, {
      timedOut: () => new SocketError("timeout", message),
      aborted: clientClosed,
    });
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    socket.off("error", onError);
  }
}
