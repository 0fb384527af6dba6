/**
 * What a `Client` sends its calls through, whatever carries them: one
 * connection to one server (the `Connector`), or any other way to reach
 * servers (several endpoints, a message bus). `ClientCalls` sees only the
 * {@linkcode Redial} part of it; the client itself also opens, watches and
 * closes it.
 *
 * @module
 */

import type { CallOptions } from "../dispatch/peer.ts";
import type { Redial } from "./resend.ts";

/** A client's way to its servers. */
export interface ClientLink extends Redial {
  /** Whether a connection is open now. */
  readonly isConnected: boolean;
  /**
   * Connects now rather than at the first call.
   *
   * @param options The deadline and signal of the connecting.
   */
  connected(options?: CallOptions): ReturnType<Redial["connected"]>;
  /** Closes every connection; calls in flight fail with `CONNECTION_CLOSED`. */
  close(): Promise<void>;
  /**
   * For a link to several servers: the way of one call, made at its
   * start. Each try it sends goes to a server this call has not tried yet
   * while another is up, so a call sent again goes elsewhere. Without it,
   * every try goes through the link itself.
   *
   * @param isIdempotent Whether the action may run twice: only then may
   * it go to a server not yet proven stable while another can take it.
   * @returns The call's own way to the servers.
   */
  route?(isIdempotent: boolean): Redial;
}
