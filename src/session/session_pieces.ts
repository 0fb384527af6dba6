/**
 * A session's pieces, built and wired to one another: each sees its
 * connection only through the narrow host interface it declares, and one
 * host object here implements them all. The {@linkcode Session} keeps the
 * routing of messages and the order of the close.
 *
 * @module
 */

import { formatAddress } from "../base/address.ts";
import type { ProtocolError } from "../base/errors.ts";
import type { GoodbyeMessage, Hello } from "../protocol/messages.ts";
import { outgoing } from "../protocol/outgoing.ts";
import type { Transport } from "../wire/transport.ts";
import type { Peer } from "../dispatch/peer.ts";
import { Handshake, type HandshakeHost } from "./handshake.ts";
import { IncomingRequests, type RequestsHost } from "./incoming_requests.ts";
import { Keepalive, type KeepaliveHost } from "./keepalive.ts";
import { Lifecycle, type LifecycleHost } from "./lifecycle.ts";
import { type CallsHost, OutgoingCalls } from "./outgoing_calls.ts";
import { Outbox } from "./outbox.ts";
import { Reassembly, type ReassemblyHost } from "./reassembly.ts";
import type { SessionOptions } from "./session_options.ts";

/** How long a session that said goodbye waits for its peer to finish and close first. */
export const GOODBYE_GRACE = 1_000;

/** Everything the pieces need of their session. */
export type SessionHost =
  & LifecycleHost
  & HandshakeHost
  & ReassemblyHost
  & CallsHost
  & RequestsHost
  & KeepaliveHost;

/** The pieces of one session. */
export interface SessionPieces {
  /** The one phase of the connection, and its close. */
  readonly life: Lifecycle;
  /** Everything sent goes out here. */
  readonly outbox: Outbox;
  /** The hello and the authentication. */
  readonly handshake: Handshake;
  /** Large messages gathered from their fragments. */
  readonly reassembly: Reassembly;
  /** The calls this side makes. */
  readonly calls: OutgoingCalls;
  /** The peer's requests. */
  readonly requests: IncomingRequests;
  /** Heartbeat and idle timeout. */
  readonly keepalive: Keepalive;
}

/** What the pieces hand back to their session, which routes and closes. */
export interface SessionEvents {
  /** The handshake is done. */
  opened(hello: Hello): void;
  /** The peer said goodbye. */
  peerGoodbye(message: GoodbyeMessage): void;
}

/**
 * Builds a session's pieces over `transport` and wires them together.
 *
 * @param transport The connection.
 * @param options The session's options.
 * @param peer The other end, for the handlers and `authenticate`.
 * @param offersActions Whether this side offers actions right now.
 * @param events Where the handshake's end and the peer's goodbye go.
 * @returns The pieces.
 */
export function buildPieces(
  transport: Transport,
  options: SessionOptions,
  peer: Peer,
  offersActions: () => boolean,
  events: SessionEvents,
): SessionPieces {
  const outbox = new Outbox(transport, options.codec, options.exposeStack);
  // Filled in below; the host reads it only once a piece calls back.
  const pieces = { outbox } as {
    -readonly [K in keyof SessionPieces]: SessionPieces[K];
  };
  const host: SessionHost = {
    peer,
    get identity() {
      return pieces.handshake.identity;
    },
    get isClosed() {
      return pieces.life.isClosed;
    },
    get peerRefusal() {
      return transport.peerRefusal;
    },
    get isRefusing() {
      return pieces.life.isRefusing;
    },
    get isCongested() {
      return transport.isCongested;
    },
    get lastActivity() {
      return transport.lastActivity;
    },
    get isBusy() {
      return pieces.requests.active > 0 || pieces.calls.size > 0;
    },
    drain: () => transport.drain(),
    blocked: () => transport.isCongested ? transport.drain() : undefined,
    closeTransport: () => transport.close(pieces.life.closeReason),
    limitFrames: (size) => transport.limitFrames?.(size),
    send: (message) => outbox.send(message),
    sendGoodbye: (error) => outbox.goodbye(error),
    hello: (hello) => {
      outbox.setPeerLimit(hello.maxFrameSize);
      outbox.peerTakesMetadata = hello.metadata === true;
      outbox.peerTakesBatches = hello.batch === true;
    },
    opened: (hello) => events.opened(hello),
    failed: (error) => void pieces.life.failWith(error),
    timedOut: (error) => pieces.life.abort(error),
    peerGoodbye: (message) => events.peerGoodbye(message),
    failProtocol: (error: ProtocolError) => pieces.life.breach(error),
    callError: () => pieces.life.callError(),
    busy: () => transport.ref(),
    quiet: () => offersActions() || transport.unref(),
    settled: () => pieces.life.settled(),
    ping: (id) => outbox.send(outgoing.ping(id)),
    dead: (reason) => pieces.life.abort(reason),
    idle: (reason) => void pieces.life.retire(GOODBYE_GRACE, reason),
  };
  pieces.life = new Lifecycle(formatAddress(transport.peer), host);
  pieces.handshake = new Handshake(options, host);
  pieces.reassembly = new Reassembly(options, host);
  pieces.calls = new OutgoingCalls(outbox, host);
  pieces.requests = new IncomingRequests(outbox, host, options);
  pieces.keepalive = new Keepalive(host, options);
  return pieces;
}
