/**
 * What `new Client({ transport })` takes: a way to reach servers other than
 * one TCP connection, such as a message bus (`natsTransport` from
 * `@isock/isock/nats`). It builds the {@linkcode ClientLink} the client
 * sends its calls through, so that the client's resend rules, middleware
 * and default deadline apply unchanged. Declared here so that `client.ts`
 * never imports a transport.
 *
 * What a `Client` sends its calls through, whatever carries them: one
 * connection to one server (the `Connector`), or any other way to reach
 * servers (several endpoints, a message bus). `ClientCalls` sees only the
 * {@linkcode Redial} part of it; the client itself also opens, watches and
 * closes it.
 *
 * @module
 */

import type { MessageCodec } from "../protocol/message_codec.ts";
import type { PeerAddress } from "../wire/transport.ts";
import type { Backoff } from "./backoff.ts";
import type { ConnectorEvents } from "./connector.ts";
import type { SentOptions } from "../session/outgoing_calls.ts";
import type { Redial } from "./resend.ts";

/** What a client's link is built from. */
export interface LinkSetup {
  /** The codec, with the client's extensions. */
  readonly codec: MessageCodec;
  /** The largest message sent or taken, in bytes (`maxFrameSize`). */
  readonly maxFrameSize: number;
  /** How many tries a dropped idempotent call gets (`retry`, at least 1). */
  readonly attempts: number;
  /** The waits between tries. */
  readonly backoff: Backoff;
  /** Where to report connections, drops and failures. */
  readonly events: ConnectorEvents;
}

/**
 * A way for a client to reach servers other than one TCP connection, such
 * as the bus `natsTransport()` (from `@isock/isock/nats`) returns: what
 * `new Client({ transport })` takes. Made by isock's transports; what the
 * client does with it is internal.
 */
export interface ClientTransport {
  /** The kind of transport, such as `"nats"`. */
  readonly transportKind: string;
}

/** What a {@linkcode ClientTransport} is inside: it builds a client's link. */
export interface LinkFactory extends ClientTransport {
  /** Where the calls go, as the client's middleware sees it. */
  readonly address: PeerAddress;
  /**
   * Builds the link a client sends its calls through.
   *
   * @param setup The client's codec, limits, retries and events.
   * @returns The link.
   */
  openLink(setup: LinkSetup): ClientLink;
}

/**
 * The link factory inside a client transport.
 *
 * @param transport The `transport` option.
 * @returns It, when it builds links; `undefined` otherwise.
 */
export function asLinkFactory(transport: unknown): LinkFactory | undefined {
  return typeof transport === "object" && transport !== null &&
      typeof (transport as Partial<LinkFactory>).openLink === "function"
    ? transport as LinkFactory
    : undefined;
}

/** A client's way to its servers. */
export interface ClientLink extends Redial {
  /** Whether a connection is open now. */
  readonly isConnected: boolean;
  /**
   * Connects now rather than at the first call.
   *
   * @param options The deadline and signal of the connecting.
   */
  connected(options?: SentOptions): ReturnType<Redial["connected"]>;
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
  choice?(isIdempotent: boolean): Redial;
}
