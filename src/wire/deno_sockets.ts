/**
 * Plain TCP and Unix sockets through Deno's own API, `Deno.listen` and
 * `Deno.connect`: the fast path on Deno, read by `connTransport`'s tight
 * loop. Only called where `hasDenoSockets` says the API is there.
 *
 * @module
 */

import {
  dialAddress,
  type DialOptions,
  formatAddress,
  type Listener,
  type ListenerEvents,
  type ListenOptions,
  type Transport,
  type TransportOptions,
} from "./transport.ts";
import { ignore } from "../base/timers.ts";
import { connTransport } from "./conn_transport.ts";
import { raceDeadline } from "../base/deadline.ts";
import { clientClosed, SocketError } from "./net_errors.ts";

/**
 * Binds with `Deno.listen` and starts the accept loop.
 *
 * @param options Where to listen, and the frame limits.
 * @param events Where new connections and accept failures go.
 * @returns The listener.
 * @throws Deno's error when binding fails (`Deno.errors.AddrInUse`, …).
 */
export function denoListen(
  options: ListenOptions,
  events: ListenerEvents,
): Listener {
  const { path } = options;
  const listener: Deno.Listener = path === undefined
    ? Deno.listen({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    })
    : Deno.listen({ path, transport: "unix" });
  let isClosed = false;
  const accepting = acceptLoop(
    listener,
    options.frames,
    events,
    () => isClosed,
  );
  const addr: Deno.Addr = listener.addr;
  return {
    hostname: "path" in addr
      ? addr.path ?? ""
      : "hostname" in addr
      ? addr.hostname
      : "",
    port: "port" in addr ? addr.port : 0,
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
  listener: Deno.Listener,
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
 * Connects once with `Deno.connect`, under the attempt's deadline.
 *
 * @param options Where, and how long.
 * @returns The transport of the open connection.
 * @throws {SocketError} `timeout` or `interrupted` when the attempt lost
 * the race; otherwise Deno's error.
 */
export async function denoDial(options: DialOptions): Promise<Transport> {
  const { path } = options;
  const connecting: Promise<Deno.Conn> = path === undefined
    ? Deno.connect({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    })
    : Deno.connect({ path, transport: "unix" });
  const conn = await raceDeadline(connecting, options.timeout, options.signal, {
    timedOut: () =>
      new SocketError(
        "timeout",
        `No connection to ${
          formatAddress(dialAddress(options))
        } within ${options.timeout} ms.`,
      ),
    aborted: clientClosed,
    // A connect that completes after all is closed at once.
    abandon: () => void connecting.then((late) => late.close(), ignore),
  });
  (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
  return connTransport(conn, options);
}

/** How long the accept loop pauses after a failed accept, in milliseconds. */
const ACCEPT_PAUSE = 50;
