/**
 * Every error isock raises is an {@linkcode IsockError} with a stable
 * {@linkcode IsockError.code}, so callers branch on the code, never on the
 * message. One class per audience:
 *
 * - {@linkcode ServerError}: the server was misconfigured or could not bind.
 * - {@linkcode ClientError}: the client could not get an answer.
 * - {@linkcode RemoteError}: the server answered with an error.
 * - {@linkcode CodecError}: a value could not be encoded or decoded.
 * - {@linkcode ProtocolError}: the peer broke the wire protocol.
 *
 * @module
 */

import type { SchemaIssue } from "./schema.ts";

// The stable codes of isock's errors, one union per audience: callers
// branch on these, never on messages.

/** Codes of {@linkcode ServerError}. */
export type ServerErrorCode =
  | "DUPLICATE_ACTION"
  | "INVALID_ACTION"
  | "ADDR_IN_USE"
  | "LISTEN_FAILED"
  | "ALREADY_LISTENING"
  | "INVALID_OPTIONS"
  | "OVERLOADED";

/** Codes of {@linkcode ClientError}. */
export type ClientErrorCode =
  | "INVALID_ACTION"
  | "DUPLICATE_ACTION"
  | "INVALID_OPTIONS"
  | "CONNECT_FAILED"
  | "TLS_FAILED"
  | "CONNECTION_CLOSED"
  | "TIMEOUT"
  | "ABORTED"
  | "UNAUTHORIZED"
  | "PROTOCOL"
  | "FRAME_TOO_LARGE"
  | "NOT_RESENDABLE"
  | "INVALID_METADATA"
  | "UNAVAILABLE";

/** Codes of {@linkcode RemoteError}: what the server reported. */
export type RemoteErrorCode =
  | "UNKNOWN_ACTION"
  | "ACTION_FAILED"
  | "INVALID_INPUT"
  | "INVALID_REQUEST"
  | "OVERLOADED"
  | "STREAM_REQUIRED"
  | "FRAME_TOO_LARGE"
  | "PROTOCOL";

/** Codes of {@linkcode CodecError}. */
export type CodecErrorCode =
  | "ENCODE_FAILED"
  | "DECODE_FAILED"
  | "DECODE_BUDGET"
  | "INVALID_EXTENSION"
  | "INVALID_JSON";

/** Codes of {@linkcode ProtocolError}. */
export type ProtocolErrorCode = "PROTOCOL" | "FRAME_TOO_LARGE";

/** Every code an {@linkcode IsockError} can carry. */
export type IsockErrorCode =
  | ServerErrorCode
  | ClientErrorCode
  | RemoteErrorCode
  | CodecErrorCode
  | ProtocolErrorCode;

// Retry safety as data on the error: whether the action ran, for each
// code of the errors a call can fail with. `false` is safe to send again,
// `"maybe"` only for idempotent actions, `true` never.

/** Codes of `ClientError` that leave it unknown whether the call ran. */
const MAYBE_RUN: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>([
  "CONNECTION_CLOSED",
  "TIMEOUT",
  "ABORTED",
  "PROTOCOL",
  "NOT_RESENDABLE",
]);

/**
 * Whether a call that failed on this side with `code` may have run.
 *
 * @param code The `ClientError` code.
 * @returns `false` when the request never reached a handler, else `"maybe"`.
 */
export function clientWasRun(code: ClientErrorCode): false | "maybe" {
  return MAYBE_RUN.has(code) ? "maybe" : false;
}

/** Codes of `RemoteError` the server sends after the handler ran. */
const HANDLER_RAN: ReadonlySet<RemoteErrorCode> = new Set<RemoteErrorCode>([
  "ACTION_FAILED",
  "FRAME_TOO_LARGE",
]);

/**
 * Whether a call the server answered with an error `code` ran.
 *
 * @param code The `RemoteError` code.
 * @returns `true` when the handler ran, `"maybe"` when unknown, else `false`.
 */
export function remoteWasRun(code: RemoteErrorCode): boolean | "maybe" {
  if (HANDLER_RAN.has(code)) return true;
  return code === "PROTOCOL" ? "maybe" : false;
}

/**
 * Sets `wasRun` as a non-enumerable field: errors passed on by a handler
 * travel with their own enumerable fields, and this one is about the
 * caller's call, not theirs.
 *
 * @param error The error.
 * @param wasRun Whether the call ran.
 */
export function defineWasRun(error: Error, wasRun: boolean | "maybe"): void {
  Object.defineProperty(error, "wasRun", {
    value: wasRun,
    enumerable: false,
    writable: false,
    configurable: true,
  });
}

/**
 * The base class of every error isock raises.
 *
 * @example Branch on the code
 * ```ts
 * import { ClientError, IsockError } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const error: unknown = new ClientError("CONNECT_FAILED", "no server");
 * assert.ok(error instanceof IsockError);
 * assert.equal(error.code, "CONNECT_FAILED");
 * ```
 */
export class IsockError extends Error {
  /** A stable, machine-readable reason: switch on it, not on the message. */
  readonly code: IsockErrorCode;

  /**
   * Creates an `IsockError`.
   *
   * @param code The stable reason.
   * @param message What happened and what to do about it.
   * @param options `cause`: the error this one wraps.
   */
  constructor(code: IsockErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // Said explicitly: a minifier renames classes, and `name` must survive it.
    this.name = ERROR_NAMES.get(new.target) ?? new.target.name;
  }
}

/**
 * A server was set up wrongly or could not start listening.
 *
 * @example
 * ```ts
 * import { action, Server, ServerError } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const server = new Server();
 * server.addAction(action("echo", (data: string) => data));
 * assert.throws(
 *   () => server.addAction(action("echo", (data: string) => data)),
 *   (error) => error instanceof ServerError && error.code === "DUPLICATE_ACTION",
 * );
 * ```
 */
export class ServerError extends IsockError {
  /** Why it happened: one of {@linkcode ServerErrorCode}, stable across versions. */
  declare readonly code: ServerErrorCode;

  /**
   * Creates a `ServerError`.
   *
   * @param code The stable reason.
   * @param message What happened and what to do about it.
   * @param options `cause`: the error this one wraps.
   */
  constructor(code: ServerErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A client could not get an answer: it could not connect, the connection
 * dropped, or the call was refused before it left.
 *
 * @example
 * ```ts
 * import { Client, ClientError } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * using client = new Client({ port: 1 });
 * await assert.rejects(
 *   client.runAction("", undefined),
 *   (error) => error instanceof ClientError && error.code === "INVALID_ACTION",
 * );
 * ```
 */
export class ClientError extends IsockError {
  /** Why it happened: one of {@linkcode ClientErrorCode}, stable across versions. */
  declare readonly code: ClientErrorCode;
  /**
   * Whether the failed call's action ran on the server, as far as this
   * client can tell: `false` when it did not (it was never sent, or the
   * server refused it unrun because it was closing), so sending it again
   * cannot run it twice; `"maybe"` when nobody can tell (the connection
   * dropped, or the deadline passed, while the call was on its way).
   * Errors that are not about a call (`INVALID_OPTIONS`, …) say `false`.
   *
   * @example Decide whether to send a call again
   * ```ts
   * import { ClientError } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const refused = new ClientError("CONNECT_FAILED", "no server");
   * assert.equal(refused.wasRun, false); // never sent: safe to try again
   * const cut = new ClientError("CONNECTION_CLOSED", "the connection dropped");
   * assert.equal(cut.wasRun, "maybe"); // only idempotent calls go again
   * ```
   */
  declare readonly wasRun: false | "maybe";

  /**
   * Creates a `ClientError`.
   *
   * @param code The stable reason.
   * @param message What happened and what to do about it.
   * @param options `cause`: the error this one wraps; `wasRun`: whether
   * the call ran, when the code alone does not say (see
   * {@linkcode ClientError.wasRun}).
   */
  constructor(
    code: ClientErrorCode,
    message: string,
    options?: ErrorOptions & { wasRun?: false | "maybe" },
  ) {
    super(code, message, options);
    defineWasRun(this, options?.wasRun ?? clientWasRun(code));
  }
}

/** What a {@linkcode RemoteError} carries besides its code and message. */
export interface RemoteErrorDetails {
  /** The `name` of the error the server raised, such as `"TypeError"`. */
  remoteName?: string;
  /** The server-side stack, when the server sent it. */
  remoteStack?: string;
  /** The `cause` of the error the server raised, when it could be sent. */
  cause?: unknown;
  /** What the action's schema found wrong, for `INVALID_INPUT`. */
  issues?: readonly SchemaIssue[];
  /** The own fields of the error the server raised, such as an HTTP `status`. */
  remoteFields?: Readonly<Record<string, unknown>>;
  /**
   * Whether the handler ran, when the code alone does not say (see
   * {@linkcode RemoteError.wasRun}).
   */
  wasRun?: boolean | "maybe";
}

/**
 * The server answered a call with an error: the action is unknown, or its
 * handler threw. The call reached the server; the connection is still fine.
 *
 * @example
 * ```ts
 * import { RemoteError } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const error = new RemoteError("ACTION_FAILED", "boom", { remoteName: "TypeError" });
 * assert.equal(error.remoteName, "TypeError");
 * assert.equal(error.message, "boom");
 * ```
 *
 * @example A thrown error's own fields travel in `remoteFields`
 * ```ts
 * import { action, Client, RemoteError, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * class HttpError extends Error {
 *   status = 404;
 * }
 * const find = action("find", (): string => {
 *   throw new HttpError("no such page");
 * });
 * await using server = new Server().addAction(find);
 * const { port } = await server.listen();
 * await using client = new Client({ port });
 * await assert.rejects(client.runAction(find), (error) => {
 *   assert.ok(error instanceof RemoteError);
 *   assert.equal(error.remoteName, "Error");
 *   assert.equal(error.remoteFields.status, 404);
 *   return true;
 * });
 * ```
 */
export class RemoteError extends IsockError {
  /** Why it happened: one of {@linkcode RemoteErrorCode}, stable across versions. */
  declare readonly code: RemoteErrorCode;
  /** The `name` of the error the server raised, such as `"TypeError"`. */
  readonly remoteName: string;
  /** The server-side stack trace, or `undefined` when the server withheld it. */
  readonly remoteStack: string | undefined;
  /**
   * What the action's schema found wrong with the data (`INVALID_INPUT`)
   * or the result, as messages with paths; `undefined` otherwise.
   */
  readonly issues: readonly SchemaIssue[] | undefined;
  /**
   * The own enumerable fields of the error the server raised (an
   * `HttpError`'s `status`, a Node error's `code`; an `AggregateError`'s
   * `errors`), or an empty object. A server with `exposeStack` off sends
   * no stacks among them.
   */
  readonly remoteFields: Readonly<Record<string, unknown>>;
  /**
   * Whether the action's handler ran: `true` for `ACTION_FAILED` (it
   * threw, or its result did not match its schema) and `FRAME_TOO_LARGE`
   * (its result was too large to send); `false` when the server refused
   * the call before running it (`UNKNOWN_ACTION`, `INVALID_INPUT`,
   * `INVALID_REQUEST`, `OVERLOADED`, `STREAM_REQUIRED`), so sending it
   * again cannot run it twice; `"maybe"` for `PROTOCOL`.
   *
   * @example
   * ```ts
   * import { RemoteError } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new RemoteError("OVERLOADED", "busy").wasRun, false);
   * assert.equal(new RemoteError("ACTION_FAILED", "boom").wasRun, true);
   * ```
   */
  declare readonly wasRun: boolean | "maybe";

  /**
   * Creates a `RemoteError`.
   *
   * @param code The reason the server gave.
   * @param message The message of the error the server raised.
   * @param details The remote name, stack, cause, issues and fields.
   */
  constructor(
    code: RemoteErrorCode,
    message: string,
    details: RemoteErrorDetails = {},
  ) {
    super(
      code,
      message,
      "cause" in details ? { cause: details.cause } : undefined,
    );
    this.remoteName = details.remoteName ?? "Error";
    this.remoteStack = details.remoteStack;
    this.issues = details.issues;
    this.remoteFields = details.remoteFields ?? {};
    defineWasRun(this, details.wasRun ?? remoteWasRun(code));
  }
}

/**
 * A value could not be encoded (a function, a symbol, a cycle) or bytes
 * could not be decoded (truncated, malformed, an unknown extension type).
 *
 * @example
 * ```ts
 * import { Codec, CodecError } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => new Codec().encode(() => 1),
 *   (error) => error instanceof CodecError && error.code === "ENCODE_FAILED",
 * );
 * ```
 */
export class CodecError extends IsockError {
  /** Why it happened: one of {@linkcode CodecErrorCode}, stable across versions. */
  declare readonly code: CodecErrorCode;

  /**
   * Creates a `CodecError`.
   *
   * @param code The stable reason.
   * @param message What happened and what to do about it.
   * @param options `cause`: the error this one wraps.
   */
  constructor(code: CodecErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * The peer broke the wire protocol: it is not an isock peer, it sent a
 * frame larger than allowed, or a message of the wrong shape. Only the
 * connection it arrived on is closed.
 *
 * @example
 * ```ts
 * import { FrameDecoderStream, ProtocolError } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const frames = ReadableStream.from([new Uint8Array([0xff, 0xff, 0xff, 0xff])])
 *   .pipeThrough(new FrameDecoderStream({ maxFrameSize: 1024 }));
 * await assert.rejects(
 *   Array.fromAsync(frames),
 *   (error) => error instanceof ProtocolError && error.code === "FRAME_TOO_LARGE",
 * );
 * ```
 */
export class ProtocolError extends IsockError {
  /** Why it happened: one of {@linkcode ProtocolErrorCode}, stable across versions. */
  declare readonly code: ProtocolErrorCode;

  /**
   * Creates a `ProtocolError`.
   *
   * @param code The stable reason.
   * @param message What happened and what to do about it.
   * @param options `cause`: the error this one wraps.
   */
  constructor(
    code: ProtocolErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** The names of isock's own error classes, for their `name` in a minified bundle. */
const ERROR_NAMES = new Map<abstract new (...args: never[]) => Error, string>([
  [IsockError, "IsockError"],
  [ServerError, "ServerError"],
  [ClientError, "ClientError"],
  [RemoteError, "RemoteError"],
  [CodecError, "CodecError"],
  [ProtocolError, "ProtocolError"],
]);
