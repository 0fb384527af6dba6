/**
 * The stable codes of isock's errors, one union per audience (see
 * errors.ts): callers branch on these, never on messages.
 *
 * @module
 */

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
