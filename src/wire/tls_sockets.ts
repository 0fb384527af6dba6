/**
 * TLS through `node:tls` on every runtime. On Deno too, not
 * `Deno.listenTls`/`Deno.connectTls`: a Deno `TlsConn` closed before its
 * handshake completes keeps its socket (Deno 2.9), so peers that connect
 * and say nothing would pile up as open files. Here the plain socket is
 * held, and destroyed with its TLS session.
 *
 * @module
 */

import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import type { SecureContext, TLSSocket } from "node:tls";
import {
  dialAddress,
  type DialOptions,
  formatAddress,
  type Listener,
  type ListenerEvents,
  type ListenOptions,
  type ServerCertificate,
  type TlsTrust,
  type Transport,
} from "./transport.ts";
import { ignore } from "../base/timers.ts";
import {
  loadNodeBuiltins,
  type NodeBuiltins,
  nodeBuiltinsNow,
} from "./node_builtins.ts";
import { nodeListen, whenReady } from "./node_sockets.ts";
import { socketTransport } from "./socket_transport.ts";

/**
 * Listens for TLS connections.
 *
 * @param options Where to listen, and the frame limits.
 * @param certificate The server's certificate chain and key (PEM), and
 * the authorities client certificates must be signed by, when required.
 * @param events Where new connections and accept failures go.
 * @returns The listener, once bound.
 * @throws the bind error, or the certificate's when it cannot be read.
 */
export async function tlsListen(
  options: ListenOptions,
  certificate: ServerCertificate,
  events: ListenerEvents,
): Promise<Listener> {
  const { tls, crypto } = await loadNodeBuiltins();
  checkCertificate(certificate.cert, certificate.key, "tls");
  const { caCerts } = certificate;
  const context = tls.createSecureContext({
    cert: certificate.cert,
    key: certificate.key,
    ca: caCerts === undefined ? undefined : [...caCerts],
  });
  // With caCerts, a client certificate is asked for, and the handshake
  // completes whatever the client sends: the verdict is ours, read by the
  // session when the client's hello arrives, and a refused client gets an
  // UNAUTHORIZED goodbye. Left to the TLS stack, the refusal would be an
  // alert on some runtimes and a bare close on others.
  const requestCert = caCerts !== undefined;
  const authorities = caCerts?.map((pem) => new crypto.X509Certificate(pem));
  return nodeListen(options, events, (socket, frames, peer) => {
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      requestCert,
      rejectUnauthorized: false,
    });
    // Before the transport's own listener, which closes the socket.
    secure.on("error", (error) => answerNotTls(error, socket));
    return socketTransport(
      secure,
      frames,
      socket,
      peer,
      {
        checkPeer: authorities === undefined
          ? undefined
          : () => clientRefusal(secure, authorities),
      },
    );
  });
}

/**
 * A protocol_version alert, the TLS record a server answers bytes that are
 * not TLS with: content type 21 (alert), version 3.1, length 2, fatal (2),
 * protocol_version (70).
 */
const PROTOCOL_VERSION_ALERT = new Uint8Array([21, 3, 1, 0, 2, 2, 70]);

/**
 * Answers a peer whose first bytes are not TLS (a plain-TCP client) with an
 * alert, as Deno's and Bun's TLS do, where Node's closes without a word: a
 * plain isock client reads the alert as a frame no hello can be, and
 * reports `PROTOCOL` with the hint to set its `tls` option, whatever
 * runtime the server runs on.
 */
function answerNotTls(error: Error, socket: Socket): void {
  const code = (error as { code?: unknown }).code;
  if (
    typeof code !== "string" || !NOT_TLS_CODES.test(code) ||
    socket.destroyed || !socket.writable || socket.bytesWritten > 0
  ) {
    return;
  }
  // A failed write (the runtime's TLS closed the socket first, having sent
  // its own alert) is nothing to report.
  socket.write(PROTOCOL_VERSION_ALERT, ignore);
}

/** OpenSSL's and BoringSSL's codes for a first record that is not TLS. */
const NOT_TLS_CODES = /WRONG_VERSION_NUMBER|HTTPS?_(PROXY_)?REQUEST/;

/**
 * Why a server's TLS client is refused: its certificate is missing, not
 * signed by one of `authorities`, or out of its dates. Checked here on
 * every runtime: a bare TLSSocket only records the verdict (tls.Server is
 * what acts on it), and Deno's and Bun's do not record it the same way.
 * The TLS handshake itself proved the client holds the certificate's key.
 *
 * @returns The reason, for the client's `UNAUTHORIZED` error; `undefined`
 * when the certificate is trusted.
 */
function clientRefusal(
  secure: TLSSocket,
  authorities: readonly X509Certificate[],
): string | undefined {
  const reason = untrustedReason(secure, authorities);
  if (reason === undefined) return undefined;
  return `${
    reason === NONE_PRESENTED
      ? "the server requires a client certificate, and none was presented"
      : `the server refused the client certificate (${reason})`
  }: give the client tls.cert and tls.key signed by an authority in the server's tls.caCerts`;
}

const NONE_PRESENTED = "none presented";

/** Why the client's certificate is not trusted; `undefined` when it is. */
function untrustedReason(
  secure: TLSSocket,
  authorities: readonly X509Certificate[],
): string | undefined {
  const raw = secure.getPeerCertificate()?.raw;
  if (raw === undefined || raw.length === 0) return NONE_PRESENTED;
  let certificate: X509Certificate;
  try {
    // Loaded: the listener that accepted this socket loaded them.
    const { crypto } = nodeBuiltinsNow()!;
    certificate = new crypto.X509Certificate(raw);
  } catch {
    return "unreadable";
  }
  const now = Date.now();
  if (
    now < Date.parse(certificate.validFrom) ||
    now > Date.parse(certificate.validTo)
  ) {
    return "expired or not yet valid";
  }
  const isSigned = authorities.some((authority) =>
    certificate.checkIssued(authority) &&
    certificate.verify(authority.publicKey)
  );
  return isSigned ? undefined : "not signed by a trusted authority";
}

/**
 * Reads a certificate and its key now, so that a bad pair fails at once
 * (`listen()`, a client's constructor) on every runtime: Node's
 * `createSecureContext` checks them, Deno's accepts anything and fails
 * each handshake instead. Where `node:crypto` cannot be had without
 * waiting yet (Node before 20.16, before its first connection), the pair
 * is left to the TLS stack to check when it is first used.
 *
 * @param cert The certificate chain (PEM).
 * @param key Its private key (PEM).
 * @param option The option's name, for the message (`tls`).
 * @throws {Error} When either is not PEM, or the key is not the
 * certificate's.
 */
export function checkCertificate(
  cert: string,
  key: string,
  option: string,
): void {
  const crypto = nodeBuiltinsNow()?.crypto;
  if (crypto === undefined) return;
  let certificate: X509Certificate;
  try {
    certificate = new crypto.X509Certificate(cert);
  } catch (error) {
    throw new Error(
      `${option}.cert is not a PEM certificate (${(error as Error).message})`,
      { cause: error },
    );
  }
  let privateKey;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (error) {
    throw new Error(
      `${option}.key is not a PEM private key (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(
      `${option}.key is not the key of the certificate in ${option}.cert`,
    );
  }
}

/**
 * Connects once over TLS: the TCP connect and the handshake together
 * within the attempt's deadline.
 *
 * @param options Where, and how long.
 * @param trust The authorities to trust instead of the built-in list, or
 * no check of the certificate at all (`insecureSkipVerify`); the client's
 * own certificate, when it presents one.
 * @returns The transport of the open connection.
 * @throws {SocketError} `timeout` or `interrupted` when the attempt lost
 * the race; otherwise the socket's error (a certificate's, say).
 */
export async function tlsDial(
  options: DialOptions,
  trust: TlsTrust,
): Promise<Transport> {
  const { hostname, port, path } = options;
  const { cert, key } = trust;
  const { net, tls } = await loadNodeBuiltins();
  const secureContext = cert === undefined || key === undefined
    ? contextTrusting(tls, trust.caCerts)
    : contextPresenting(tls, trust, cert, key);
  // Asked for by name only: encrypted, but whoever answers is believed.
  const rejectUnauthorized = trust.insecureSkipVerify !== true;
  const socket = path === undefined
    ? tls.connect({
      host: hostname,
      port,
      // Server names are host names; an IP address is checked against the
      // certificate's IP entries instead.
      servername: net.isIP(hostname) === 0 ? hostname : undefined,
      secureContext,
      rejectUnauthorized,
    })
    : tls.connect({
      path,
      servername: hostname,
      secureContext,
      rejectUnauthorized,
    });
  if (path === undefined) socket.setNoDelay(true);
  await whenReady(
    socket,
    "secureConnect",
    options,
    `No TLS connection to ${
      formatAddress(dialAddress(options))
    } within ${options.timeout} ms: the server did not complete the handshake.`,
  );
  return socketTransport(socket, options);
}

/**
 * The trusted authorities: `caCerts` when given (as in Node: instead of the
 * built-in list, which only `--allow-sys` could read to add to), else the
 * built-in list. Made once per set of certificates.
 */
function contextTrusting(
  tls: NodeBuiltins["tls"],
  caCerts: string[] | undefined,
): SecureContext {
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

/**
 * The trusted authorities and the client's own certificate. Made once per
 * `tls` options object, that is once per client.
 */
function contextPresenting(
  tls: NodeBuiltins["tls"],
  trust: TlsTrust,
  cert: string,
  key: string,
): SecureContext {
  let context = presentingContexts.get(trust);
  if (context === undefined) {
    const { caCerts } = trust;
    context = tls.createSecureContext({
      ...(caCerts === undefined ? {} : { ca: caCerts }),
      cert,
      key,
    });
    presentingContexts.set(trust, context);
  }
  return context;
}

const presentingContexts = new WeakMap<TlsTrust, SecureContext>();

const noCaCerts: string[] = [];
const secureContexts = new WeakMap<string[], SecureContext>();
