/**
 * The liveness rules of calls over NATS (PROTOCOL.md, "Over NATS",
 * "Liveness"): both sides send something for each open call at least every
 * heartbeat, and a side that hears nothing about a call for
 * {@linkcode SILENT_HEARTBEATS} heartbeats takes the other side for gone.
 *
 * @module
 */

/** The default heartbeat, in milliseconds. */
export const DEFAULT_HEARTBEAT = 1_000;

/** How many heartbeats of silence mean the other side is gone. */
export const SILENT_HEARTBEATS = 3;

/** How long a caller with no open call is kept (its request ids), in heartbeats. */
export const IDLE_CALLER_HEARTBEATS = 30;
