/**
 * What a client and a server share to run connections: the message codec,
 * the limits, the actions offered and the authentication, and the one way
 * a {@linkcode Session} is built over a new transport from them.
 *
 * @module
 */

import type { CallRecorder } from "../dispatch/action_stats.ts";
import type { Middleware } from "../dispatch/middleware.ts";
import type { ActionRegistry } from "../dispatch/registry.ts";
import type { Authenticator } from "../protocol/auth.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import { Session } from "../session/session.ts";
import type { Transport } from "../wire/transport.ts";
import type { ConnectionLimits } from "./options.ts";

/** Everything an end of a connection brings to each of its sessions. */
export interface Endpoint {
  /** Which end this is. */
  readonly role: "client" | "server";
  /** Reads and writes messages, with the extensions registered. */
  readonly codec: MessageCodec;
  /** The limits of every connection. */
  readonly limits: ConnectionLimits;
  /** The actions this end offers its peers. */
  readonly actions: ActionRegistry;
  /** Server: milliseconds a connection may stay without calls; 0 never. */
  readonly idleTimeout?: number;
  /** Server: whether error stacks go to clients. */
  readonly exposeStack?: boolean;
  /** Server: where the calls run are counted. */
  readonly stats?: CallRecorder;
  /** Server: middleware around every request (the server's own list, read at each request). */
  readonly middleware?: readonly Middleware[];
}

/**
 * Starts a session over a new transport: sends this end's hello and reads
 * the peer's. The session owns the transport from now on.
 *
 * @param transport The new connection.
 * @param endpoint The codec, limits and actions of this end.
 * @param auth How this end authenticates (client) or checks its peer (server).
 * @returns The session; its `ready` settles once the handshake is done.
 */
export function openSession(
  transport: Transport,
  endpoint: Endpoint,
  auth: Authenticator,
): Session {
  const { actions, limits } = endpoint;
  return new Session(transport, {
    codec: endpoint.codec,
    role: endpoint.role,
    maxFrameSize: limits.maxFrameSize,
    handshakeTimeout: limits.handshakeTimeout,
    heartbeatInterval: limits.heartbeatInterval,
    maxInFlight: limits.maxInFlight,
    idleTimeout: endpoint.idleTimeout,
    exposeStack: endpoint.exposeStack,
    middleware: endpoint.middleware,
    actions: actions.find,
    stats: endpoint.stats,
    // A server always offers actions; a client only once it has some.
    offersActions: endpoint.role === "client"
      ? () => actions.size > 0
      : undefined,
    auth,
  });
}
