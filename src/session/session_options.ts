/**
 * The options a session is made with: the codec, the limits, the actions
 * and the authentication.
 *
 * @module
 */

import type { Authenticator } from "../protocol/auth.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import type { ActionLookup } from "../dispatch/run_action.ts";
import type { CallRecorder } from "../dispatch/action_stats.ts";
import type { Middleware } from "../dispatch/middleware.ts";

/** Options of {@linkcode Session}. */
export interface SessionOptions {
  /** Reads and writes messages. */
  codec: MessageCodec;
  /** Which end of the connection this is. */
  role: "client" | "server";
  /** The largest frame body this side accepts, announced in the hello. */
  maxFrameSize: number;
  /** How long to wait for the peer's hello (and authentication), in milliseconds. */
  handshakeTimeout: number;
  /** Milliseconds between pings; the peer is dead after three silent intervals. 0 turns heartbeats off. */
  heartbeatInterval: number;
  /** Milliseconds without calls after which the connection is closed; 0 never. */
  idleTimeout?: number;
  /** The actions this side runs for its peer; none when omitted. */
  actions?: ActionLookup;
  /**
   * How long a fragmented message may go without a new piece, in
   * milliseconds, before the peer is taken to be holding memory on purpose.
   *
   * @default {30000}
   */
  reassemblyTimeout?: number;
  /** How many of the peer's requests may run at once; more are refused with `OVERLOADED`. */
  maxInFlight?: number;
  /** Whether error stacks are sent to the peer. */
  exposeStack?: boolean;
  /** Where the calls run for the peer are counted (a server's stats). */
  stats?: CallRecorder;
  /** Middleware around the peer's requests; none when omitted. */
  middleware?: readonly Middleware[];
  /** How this side authenticates (client) or checks the peer (server). */
  auth?: Authenticator;
  /**
   * Whether this side offers actions to its peer right now (a server always
   * does). Such a connection keeps the process alive while no call is on its
   * way, and a client's hello says so, so that the server does not close it
   * for being idle. A client that offers none lets a script end that forgot
   * to close it.
   */
  offersActions?: () => boolean;
}
