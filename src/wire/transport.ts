/**
 * Transports: a connection seen as frames in and frames out. The session
 * sends frame bodies and receives them through a {@linkcode Transport}, and
 * never touches a socket. This file is the contract; the adapters live
 * beside it, one a file:
 *
 * - `connTransport` (conn_transport.ts), for a `Deno.Conn`: a tight read
 *   loop that hands every frame of a read to the session in one go, and a
 *   writer that joins the frames of one burst into one socket write.
 *   Plain TCP and Unix sockets on Deno use it.
 * - `socketTransport` (socket_transport.ts), for a `node:net` or
 *   `node:tls` socket: plain sockets on Node and Bun, and TLS on every
 *   runtime, because a Deno `TlsConn` closed before its handshake
 *   completes keeps its socket open (Deno 2.9), while a destroyed node
 *   socket is gone at once.
 * - `streamTransport` (stream_transport.ts), for any pair of byte streams,
 *   through `FrameDecoderStream` and `FrameEncoderStream`.
 *
 * A new transport implements {@linkcode Transport}: frames in through a
 * {@linkcode FrameReceiver}, frame bodies out through `send`.
 *
 * @module
 */

/** Where a peer is. */
export interface PeerAddress {
  /** The peer's IP address (or socket path, for Unix sockets). */
  readonly hostname: string;
  /** The peer's port (0 for Unix sockets). */
  readonly port: number;
  /** The kind of connection. */
  readonly transport: "tcp" | "unix" | "websocket";
}

/** Where a transport delivers what it reads. */
export interface FrameReceiver {
  /**
   * A frame body arrived. When `isBorrowed`, the bytes are valid only
   * during this call (the transport reuses its buffer): decode them now and
   * keep nothing that points into them. A receiver that kept nothing
   * pointing into a body that is not borrowed may return `true`: the
   * transport may then reuse its memory (the pieces of a fragmented
   * message, copied into the whole as they arrive).
   */
  frame(body: Uint8Array, isBorrowed: boolean): boolean | void;
  /**
   * Reading ended: the peer closed (no `error`), the connection failed, or
   * the peer's bytes broke the framing (a `ProtocolError`; the
   * connection is then still open for a last frame until
   * {@linkcode Transport.close}). Called once.
   */
  closed(error?: unknown): void;
}

/** A connection as frame bodies in and out. */
export interface Transport {
  /** The peer's address. */
  readonly peer: PeerAddress;
  /** When bytes last arrived, in milliseconds since 1970: the heartbeat's sign of life. */
  readonly lastActivity: number;
  /**
   * Whether more is queued for writing than the peer has taken: a peer
   * that does not read its answers. New work should wait for
   * {@linkcode Transport.drain}.
   */
  readonly isCongested: boolean;
  /** Starts reading; call once. */
  start(receiver: FrameReceiver): void;
  /**
   * Queues a frame, its body given as parts. Never throws: a failed write
   * closes the connection, which the receiver hears about.
   */
  send(body: readonly Uint8Array[]): void;
  /** Resolves once everything queued is written, or the connection failed. */
  drain(): Promise<void>;
  /**
   * Closes the connection at once. Idempotent. `reason` is why this side
   * ends it (the error its goodbye carried), for a transport that can say
   * so itself (a WebSocket's close code).
   */
  close(reason?: unknown): void;
  /** Lets the open connection keep the process alive (the default). */
  ref(): void;
  /** Lets the process end while the connection is open but idle. */
  unref(): void;
  /**
   * Sets the largest frame body accepted from the next frame on (at most
   * `maxFrameSize`): small until the peer has authenticated. A transport
   * without it keeps `maxFrameSize`.
   */
  limitFrames?(size: number): void;
  /**
   * Why the connection's own check refuses the peer (a TLS client
   * certificate missing or not signed by a trusted authority), for the
   * session to answer with an `UNAUTHORIZED` goodbye; `undefined` when the
   * peer passed or nothing is checked. Read once the peer's first frame
   * arrived: by then any TLS handshake is done.
   */
  readonly peerRefusal?: string | undefined;
}

/** Options of the transports. */
export interface TransportOptions {
  /** The largest frame body accepted from the peer. */
  maxFrameSize: number;
  /** The largest first frame accepted from the peer (its hello). */
  maxFirstFrameSize: number;
}

/** Frame parts at least this long are written as they are instead of being copied into a batch. */
export const WRITE_ALONE_SIZE = 64 * 1024;
/**
 * Bytes queued for writing beyond which a transport is congested and
 * stops reading: a peer that does not read its answers gets no more of them.
 */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;

// How an address is written in messages: `host:port`, IPv6 hosts in
// brackets (`[::1]:4440`), a Unix socket by its path.

/** Where a peer or a server is. */
export interface Address {
  /** The host name, IP address, or socket path. */
  readonly hostname: string;
  /** The port; unused for Unix sockets. */
  readonly port: number;
  /** The kind of connection. */
  readonly transport?: "tcp" | "unix" | "websocket";
}

/**
 * Writes an address for messages.
 *
 * @param address The host (or path) and port.
 * @returns `host:port`, `[v6]:port`, or the socket path.
 */
export function formatAddress(address: Address): string {
  if (address.transport === "unix") return address.hostname;
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}

// What one connection attempt of a client needs: where, TLS or not, and
// how long it may take.

/** Where and how to connect. */
export interface DialOptions extends TransportOptions {
  /** Milliseconds the attempt may take. */
  readonly timeout: number;
  /** Gives up at once when aborted (the client is closing). */
  readonly signal: AbortSignal;
  /** The server's host name or IP address (unused with `path`). */
  hostname: string;
  /** The server's port (unused with `path`). */
  port: number;
  /** Connect to this Unix socket path instead of TCP. */
  path?: string;
  /** TLS: `true` trusts the usual certificate authorities; `caCerts` trusts these instead (PEM). */
  tls?: boolean | TlsTrust;
}

/** Whom a TLS client trusts, and the certificate it presents. */
export interface TlsTrust {
  /** The authorities to trust instead of the built-in list (PEM). */
  caCerts?: string[];
  /** Skip checking the server's certificate (encrypted, not authenticated). */
  insecureSkipVerify?: boolean;
  /** The client's own certificate chain (PEM), for servers that ask for one. */
  cert?: string;
  /** The private key of `cert` (PEM). */
  key?: string;
}

/**
 * The address of a dial, as `formatAddress` writes it.
 *
 * @param options Where the dial goes.
 * @returns Host and port, or the Unix socket path.
 */
export function dialAddress(
  options: DialOptions,
): { hostname: string; port: number; transport: "tcp" | "unix" } {
  return options.path === undefined
    ? { hostname: options.hostname, port: options.port, transport: "tcp" }
    : { hostname: options.path, port: 0, transport: "unix" };
}

// What a server's listening socket needs and offers, whichever socket API
// serves it.

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
