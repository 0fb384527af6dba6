/**
 * The liveness rules of calls over NATS (PROTOCOL.md, "Over NATS",
 * "Liveness"): a caller pings each call it knows the instance of every
 * heartbeat and the instance answers, and a side that hears nothing about
 * a call for {@linkcode SILENT_HEARTBEATS} heartbeats takes the other side
 * for gone; and the bounds of an instance.
 *
 * @module
 */

/** The default heartbeat, in milliseconds. */
export const DEFAULT_HEARTBEAT = 1_000;

/** How many heartbeats of silence mean the other side is gone. */
export const SILENT_HEARTBEATS = 3;

/** How long an instance keeps the state of a caller with no open call, in heartbeats. */
export const IDLE_CALLER_HEARTBEATS = 3;

/** The default of `maxCallers`: client inboxes an instance keeps a state for. */
export const DEFAULT_MAX_CALLERS = 10_000;

/** The default of `maxCalls`: calls an instance runs at once. */
export const DEFAULT_MAX_CALLS = 10_000;

/** The default of `maxReassemblyBytes`: 128 MiB, two messages of the default maxFrameSize. */
export const DEFAULT_MAX_REASSEMBLY_BYTES = 128 * 1024 * 1024;
