/**
 * What a server's listening socket needs and offers, whichever socket API
 * serves it.
 *
 * @module
 */

import type { Transport, TransportOptions } from "./transport.ts";

/** Where and how to listen. */
export interface ListenOptions {
  /** The address to listen on (unused with `path`). */
  readonly hostname: string;
  /** The port; 0 picks a free one (unused with `path`). */
  readonly port: number;
  /** Listen on this Unix socket path instead of TCP. */
  readonly path?: string;
  /** Serve TLS with this certificate chain and key (PEM). */
  readonly tls?: ServerCertificate;
  /** The frame limits of every accepted connection. */
  readonly frames: TransportOptions;
}

/** A TLS server's certificate, and whom it asks for client certificates. */
export interface ServerCertificate {
  /** The certificate chain (PEM). */
  readonly cert: string;
  /** Its private key (PEM). */
  readonly key: string;
  /**
   * Require a client certificate signed by one of these authorities (PEM);
   * a client without one is refused during the handshake.
   */
  readonly caCerts?: readonly string[];
}

/** What a listener tells its owner. */
export interface ListenerEvents {
  /** A new connection; whoever gets it owns it. */
  connection(transport: Transport): void;
  /** Accepting failed (out of file descriptors, say); the listener goes on. */
  error(error: unknown): void;
}

/** A listening socket. */
export interface Listener {
  /** The address it listens on (the path, for a Unix socket). */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked for; 0 for a Unix socket). */
  readonly port: number;
  /**
   * Stops taking connections.
   *
   * @returns Resolves once the accept loop has ended.
   */
  close(): Promise<void>;
}
