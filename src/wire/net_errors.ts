/**
 * Socket failures in words every runtime shares. Deno throws its own error
 * classes (`Deno.errors.AddrInUse`, …); Node and Bun set `code` strings
 * (`EADDRINUSE`, …). {@linkcode classifyNetError} reads both, so the layers
 * above branch on a {@linkcode NetErrorKind}, never on a runtime.
 *
 * @module
 */

/** What went wrong with a socket, whichever runtime reported it. */
export type NetErrorKind =
  /** The address is taken (another server listens there). */
  | "addr-in-use"
  /** Nothing listens there. */
  | "refused"
  /** A deadline passed. */
  | "timeout"
  /** The runtime or the system does not allow it (Deno's `--allow-net`, a port below 1024). */
  | "permission"
  /** The peer reset the connection, or the pipe broke. */
  | "reset"
  /** The host name or the socket path does not exist. */
  | "not-found"
  /** The address cannot be used on this machine. */
  | "unavailable"
  /** The peer's TLS certificate was not accepted. */
  | "certificate"
  /** The connection ended inside a frame. */
  | "eof"
  /** Our own side gave up (the client was closed). */
  | "interrupted"
  /** The socket was already closed. */
  | "closed"
  /** Anything else. */
  | "other";

/**
 * A socket failure raised by isock's own socket layer (a deadline, a
 * close, a connection ended mid-frame), with its kind.
 *
 * @example
 * ```ts
 * import { classifyNetError, SocketError } from "./net_errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new SocketError("timeout", "No answer within 10 ms.");
 * assert.equal(classifyNetError(error), "timeout");
 * ```
 */
export class SocketError extends Error {
  /** What went wrong. */
  readonly kind: NetErrorKind;

  /**
   * Creates a `SocketError`.
   *
   * @param kind What went wrong.
   * @param message What happened, for people.
   */
  constructor(kind: NetErrorKind, message: string) {
    super(message);
    this.name = "SocketError";
    this.kind = kind;
  }
}

/**
 * What a connection attempt given up because the client closed fails with.
 *
 * @returns An `interrupted` {@linkcode SocketError}.
 *
 * @example
 * ```ts
 * import { clientClosed } from "./net_errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(clientClosed().kind, "interrupted");
 * ```
 */
export function clientClosed(): SocketError {
  return new SocketError("interrupted", "The client was closed.");
}

/**
 * Says what kind of failure `error` is: a {@linkcode SocketError}, one of
 * Deno's error classes, or a Node/Bun error with a `code`.
 *
 * @param error What a socket operation failed with.
 * @returns Its kind; `"other"` when it is none of the known ones.
 *
 * @example
 * ```ts
 * import { classifyNetError } from "./net_errors.ts";
 * import assert from "node:assert/strict";
 *
 * const refused = Object.assign(new Error("connect ECONNREFUSED"), {
 *   code: "ECONNREFUSED",
 * });
 * assert.equal(classifyNetError(refused), "refused");
 * assert.equal(classifyNetError(new Error("?")), "other");
 * ```
 */
export function classifyNetError(error: unknown): NetErrorKind {
  if (!(error instanceof Error)) return "other";
  if (error instanceof SocketError) return error.kind;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    const kind = CODE_KINDS[code];
    if (kind !== undefined) return kind;
    if (CERTIFICATE_CODES.test(code)) return "certificate";
  }
  return denoErrorKind(error) ?? "other";
}

/**
 * Whether a failed attempt failed on the server's certificate (not trusted,
 * expired, for another name): trying again cannot help.
 *
 * @param error What the attempt failed with.
 * @returns Whether it is a certificate error.
 */
export function isCertificateError(error: unknown): boolean {
  return classifyNetError(error) === "certificate";
}

/** Node's and Bun's `code`s (libuv's errno names, and DNS's). */
const CODE_KINDS: Readonly<Record<string, NetErrorKind>> = {
  EADDRINUSE: "addr-in-use",
  ECONNREFUSED: "refused",
  ETIMEDOUT: "timeout",
  EACCES: "permission",
  EPERM: "permission",
  ERR_ACCESS_DENIED: "permission",
  ECONNRESET: "reset",
  EPIPE: "reset",
  ECONNABORTED: "reset",
  ENOTFOUND: "not-found",
  ENOENT: "not-found",
  EAI_AGAIN: "not-found",
  EADDRNOTAVAIL: "unavailable",
  ENETUNREACH: "unavailable",
  EHOSTUNREACH: "unavailable",
  ERR_SOCKET_CLOSED: "closed",
};

/** OpenSSL's and Node's codes for certificate verification failures. */
const CERTIFICATE_CODES =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY_LEAF|DECRYPT)|INVALID_CA|HOSTNAME_MISMATCH|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE/;

/** Deno's error classes by name, as `Deno.errors` holds them. */
const DENO_KINDS: Readonly<Record<string, NetErrorKind>> = {
  AddrInUse: "addr-in-use",
  ConnectionRefused: "refused",
  TimedOut: "timeout",
  NotCapable: "permission",
  PermissionDenied: "permission",
  ConnectionReset: "reset",
  ConnectionAborted: "reset",
  BrokenPipe: "reset",
  NotFound: "not-found",
  AddrNotAvailable: "unavailable",
  UnexpectedEof: "eof",
  Interrupted: "interrupted",
  BadResource: "closed",
};

/**
 * The kind of one of Deno's own errors; `undefined` elsewhere. Reads
 * `Deno.errors` only when the global exists, asking for no permission.
 */
function denoErrorKind(error: Error): NetErrorKind | undefined {
  const errors = (globalThis as { Deno?: { errors?: object } }).Deno?.errors as
    | Record<string, unknown>
    | undefined;
  if (errors === undefined) return undefined;
  for (const name in DENO_KINDS) {
    const type = errors[name];
    if (typeof type === "function" && error instanceof type) {
      return DENO_KINDS[name];
    }
  }
  // Deno's own TLS reports rustls's verdict as InvalidData.
  if (
    typeof errors.InvalidData === "function" &&
    error instanceof errors.InvalidData &&
    /invalid peer certificate/i.test(error.message)
  ) {
    return "certificate";
  }
  return undefined;
}
