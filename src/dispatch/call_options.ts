/**
 * The options of one call, shared by every side that calls: a client, a
 * server calling its client back through a {@linkcode Peer}, and the
 * session that carries the call.
 *
 * @module
 */

import type { Metadata, MetadataInit } from "../protocol/metadata.ts";

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the answer; 0 waits as long as it takes. */
  timeout?: number;
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
  /**
   * String key/values sent with the call (the handler reads them as
   * `context.metadata`): keys `[a-zA-Z0-9._-]`, case-insensitive, at most
   * 64 entries and 8 KiB. Too much fails the call with `INVALID_METADATA`.
   */
  metadata?: MetadataInit;
  /**
   * Called with the answer's metadata (what the handler set on
   * `context.responseMetadata`), before the call settles, when there is
   * some. For a stream, once it ends.
   */
  onResponseMetadata?: (metadata: Metadata) => void;
}

/** Options of a call whose result is a stream, as the session sees them. */
export interface StreamOptions extends CallOptions {
  /**
   * How many items may be in flight before the caller grants more (1,024
   * and 1 MiB from a peer that takes batches, else 16, when omitted).
   */
  window?: number;
  /** Resume after this item (the handler sees it as `context.lastEventId`). */
  lastEventId?: string | number;
}
