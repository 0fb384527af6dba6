/**
 * A server's listening socket and its accept loop: plain TCP through
 * `Deno.listen`, TLS through `node:tls`. Each accepted connection is handed
 * on as a transport; a failure to bind becomes a `ServerError` that names
 * the address.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { formatAddress } from "../base/address.ts";
import { ServerError } from "../base/errors.ts";
import { connTransport } from "../wire/conn_transport.ts";
import { socketTransport } from "../wire/socket_transport.ts";
import type { Transport, TransportOptions } from "../wire/transport.ts";

/** Where and how to listen. */
export interface ListenOptions {
  /** The address to listen on. */
  readonly hostname: string;
  /** The port; 0 picks a free one. */
  readonly port: number;
  /** Serve TLS with this certificate chain and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The frame limits of every accepted connection. */
  readonly frames: TransportOptions;
}

/** What a listener tells its server. */
export interface ListenerEvents {
  /** A new connection; whoever gets it owns it. */
  connection(transport: Transport): void;
  /** Accepting failed (out of file descriptors, say); the listener goes on. */
  error(error: unknown): void;
}

/** A listening socket. */
export interface Listener {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /**
   * Stops taking connections.
   *
   * @returns Resolves once the accept loop has ended.
   */
  close(): Promise<void>;
}

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
    return options.tls === undefined
      ? listenTcp(options, events)
      : await listenTls(options, options.tls, events);
  } catch (error) {
    throw bindError(error, options);
  }
}

function listenTcp(options: ListenOptions, events: ListenerEvents): Listener {
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  let isClosed = false;
  const accepting = acceptLoop(
    listener,
    options.frames,
    events,
    () => isClosed,
  );
  return {
    ...listener.addr,
    close: () => {
      isClosed = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      return accepting;
    },
  };
}

async function acceptLoop(
  listener: Deno.Listener<Deno.Conn, Deno.NetAddr>,
  frames: TransportOptions,
  events: ListenerEvents,
  isClosed: () => boolean,
): Promise<void> {
  while (!isClosed()) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (isClosed() || error instanceof Deno.errors.BadResource) return;
      // Out of file descriptors, or a connection reset before it was
      // accepted: pause a moment rather than spin, then go on.
      events.error(error);
      await new Promise((resolve) => setTimeout(resolve, ACCEPT_PAUSE));
      continue;
    }
    (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
    events.connection(connTransport(conn, frames));
  }
}

/**
 * Listens through `node:tls`, not `Deno.listenTls`: a Deno `TlsConn`
 * closed before its handshake completes keeps its socket (Deno 2.9), so
 * peers that connect and say nothing would pile up as open files. Here
 * the plain socket is held, and destroyed with its TLS session.
 */
async function listenTls(
  options: ListenOptions,
  certificate: { readonly cert: string; readonly key: string },
  events: ListenerEvents,
): Promise<Listener> {
  const context = tls.createSecureContext({
    cert: certificate.cert,
    key: certificate.key,
  });
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context,
    });
    events.connection(socketTransport(secure, options.frames, socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.hostname, port: options.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Out of file descriptors, say: the server goes on listening.
  server.on("error", (error: Error) => events.error(error));
  const { address, port } = server.address() as net.AddressInfo;
  return {
    hostname: address,
    port,
    close: () => {
      server.close();
      return Promise.resolve();
    },
  };
}

/**
 * The error of a failed bind, naming the address (IPv6 in brackets).
 *
 * @param error What binding failed with.
 * @param where The address asked for.
 * @returns `ADDR_IN_USE` when the port is taken, `LISTEN_FAILED` otherwise.
 */
export function bindError(
  error: unknown,
  where: { readonly hostname: string; readonly port: number },
): ServerError {
  const address = formatAddress(where);
  if (
    error instanceof Deno.errors.AddrInUse ||
    (error as { code?: unknown })?.code === "EADDRINUSE"
  ) {
    return new ServerError(
      "ADDR_IN_USE",
      `Cannot listen on ${address}: the port is already in use. Stop the other server, or choose another port (0 picks a free one).`,
      { cause: error },
    );
  }
  return new ServerError(
    "LISTEN_FAILED",
    `Cannot listen on ${address}: ${(error as Error)?.message ?? error}`,
    { cause: error },
  );
}

/** How long the accept loop pauses after a failed accept, in milliseconds. */
const ACCEPT_PAUSE = 50;
