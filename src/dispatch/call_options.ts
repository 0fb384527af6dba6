/**
 * The options of one call, shared by every side that calls: a client, a
 * server calling its client back through a {@linkcode Peer}, and the
 * session that carries the call.
 *
 * @module
 */

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the answer; 0 waits as long as it takes. */
  timeout?: number;
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
}

/** Options of a call whose result is a stream, as the session sees them. */
export interface StreamOptions extends CallOptions {
  /** How many items may be in flight before the caller grants more. */
  window?: number;
  /** Resume after this item (the handler sees it as `context.lastEventId`). */
  lastEventId?: string | number;
}
