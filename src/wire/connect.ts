/**
 * One connection attempt of a client, plain or TLS, under a deadline: a
 * server that accepts and then says nothing (or a network that drops the
 * packets) costs the attempt its deadline, never a hang, and the socket is
 * released when it runs out.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { formatAddress } from "../base/address.ts";
import { ignore } from "../base/timers.ts";
import { connTransport } from "./conn_transport.ts";
import { socketTransport } from "./socket_transport.ts";
import type { Transport, TransportOptions } from "./transport.ts";

/** Where and how to connect. */
export interface DialOptions extends TransportOptions {
  /** The server's host name or IP address. */
  hostname: string;
  /** The server's port. */
  port: number;
  /** TLS: `true` trusts the usual certificate authorities; `caCerts` trusts these instead (PEM). */
  tls?: boolean | { caCerts?: string[] };
  /** Milliseconds the TCP connect and the TLS handshake may take together. */
  timeout: number;
  /** Gives up at once when aborted (the client is closing). */
  signal: AbortSignal;
}

/**
 * Connects once. TLS goes through `node:tls` because a Deno `TlsConn`
 * closed before its handshake completes keeps its socket open (Deno 2.9).
 *
 * @param options Where, how, and how long.
 * @returns The transport of the open connection.
 * @throws {Deno.errors.TimedOut} when the deadline passes first; otherwise
 * what the connection attempt failed with.
 */
export function dialOnce(options: DialOptions): Promise<Transport> {
  const { tls: useTls } = options;
  return useTls === undefined || useTls === false
    ? dialTcp(options)
    : dialTls(options, useTls === true ? undefined : useTls.caCerts);
}

async function dialTcp(options: DialOptions): Promise<Transport> {
  const connecting = Deno.connect({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const conn = await withDeadline(
    connecting,
    options,
    `No TCP connection to ${
      formatAddress(options)
    } within ${options.timeout} ms.`,
    // A connect that completes after all is closed at once.
    () => connecting.then((late) => late.close(), ignore),
  );
  conn.setNoDelay(true);
  return connTransport(conn, options);
}

async function dialTls(
  options: DialOptions,
  caCerts: string[] | undefined,
): Promise<Transport> {
  const { hostname, port } = options;
  const socket = tls.connect({
    host: hostname,
    port,
    // Server names are host names; an IP address is checked against the
    // certificate's IP entries instead.
    servername: net.isIP(hostname) === 0 ? hostname : undefined,
    secureContext: secureContext(caCerts),
  });
  socket.setNoDelay(true);
  let onError: (error: Error) => void = ignore;
  const handshake = new Promise<void>((resolve, reject) => {
    onError = reject;
    socket.once("secureConnect", resolve);
    socket.on("error", onError);
  });
  try {
    await withDeadline(
      handshake,
      options,
      `No TLS connection to ${
        formatAddress(options)
      } within ${options.timeout} ms: the server did not complete the handshake.`,
      ignore,
    );
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    socket.off("error", onError);
  }
  return socketTransport(socket, options);
}

/**
 * The trusted authorities: `caCerts` when given (as in Node: instead of the
 * built-in list, which only `--allow-sys` could read to add to), else the
 * built-in list. Made once per set of certificates.
 */
function secureContext(caCerts: string[] | undefined): tls.SecureContext {
  const key = caCerts ?? noCaCerts;
  let context = secureContexts.get(key);
  if (context === undefined) {
    context = tls.createSecureContext(
      caCerts === undefined ? {} : { ca: caCerts },
    );
    secureContexts.set(key, context);
  }
  return context;
}

const noCaCerts: string[] = [];
const secureContexts = new WeakMap<string[], tls.SecureContext>();

/**
 * Whether a failed attempt failed on the server's certificate (not trusted,
 * expired, for another name): trying again cannot help.
 *
 * @param error What the attempt failed with.
 * @returns Whether it is a certificate error.
 */
export function isCertificateError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && CERTIFICATE_CODES.test(code)) return true;
  // Deno's own TLS reports rustls's verdict as InvalidData.
  return error instanceof Deno.errors.InvalidData &&
    /invalid peer certificate/i.test(error.message);
}

/** OpenSSL's and Node's codes for certificate verification failures. */
const CERTIFICATE_CODES =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY_LEAF|DECRYPT)|INVALID_CA|HOSTNAME_MISMATCH|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE/;

/** `promise`, or a `TimedOut` failure once the deadline passes or `signal` aborts; `abandon` cleans up after the loser. */
function withDeadline<T>(
  promise: Promise<T>,
  options: DialOptions,
  message: string,
  abandon: () => void,
): Promise<T> {
  const { timeout, signal } = options;
  return new Promise<T>((resolve, reject) => {
    const fail = (error: Error) => {
      done();
      abandon();
      reject(error);
    };
    const onAbort = () =>
      fail(new Deno.errors.Interrupted("The client was closed."));
    const timer = setTimeout(
      () => fail(new Deno.errors.TimedOut(message)),
      timeout,
    );
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(error);
      },
    );
  });
}
