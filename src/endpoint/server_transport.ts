/**
 * What `Server.listen(transport)` takes: a way to serve the server's
 * actions other than its own TCP listener, such as a message bus
 * (`natsTransport` from `@isock/isock/nats`). The server hands it what it
 * serves with (codec, limits, registry, stats, middleware); the transport
 * runs each call with `runAction` and answers it its own way. Declared here
 * so that `server.ts` never imports a transport.
 *
 * @module
 */

import type { ServerStats } from "../dispatch/action_stats.ts";
import type { Endpoint } from "./open_session.ts";

/** What a server serves with, as a transport sees it. */
export interface ServedEndpoint {
  /** The codec, limits, actions, redaction, stats and middleware. */
  readonly endpoint: Endpoint;
  /** The server's stats now (`server.stats()`), for discovery. */
  stats(): ServerStats;
}

/** A transport serving a server's actions, until closed. */
export interface ServingTransport {
  /**
   * Stops taking new calls, lets running ones finish (for `timeout` ms at
   * most, then aborts them), then stops.
   *
   * @param timeout How long running calls may take, in milliseconds.
   * @returns Resolves once nothing runs and nothing is subscribed.
   */
  close(timeout: number): Promise<void>;
}

/**
 * A way to serve a server's actions other than its TCP listener, such as the
 * bus `natsTransport()` (from `@isock/isock/nats`) returns: what
 * `server.listen(transport)` takes. Made by isock's transports; what the
 * server does with it is internal.
 */
export interface ServerTransport {
  /** The kind of transport, such as `"nats"`. */
  readonly transportKind: string;
}

/** What a {@linkcode ServerTransport} is inside: it serves. */
export interface ServingFactory extends ServerTransport {
  /**
   * Starts serving; resolves once calls can arrive.
   *
   * @param served What the server serves with.
   * @returns What stops it.
   */
  serve(served: ServedEndpoint): Promise<ServingTransport>;
}

/**
 * Whether `value` is a server transport that serves.
 *
 * @param value What `listen()` was given.
 * @returns Whether it has a `serve` method.
 */
export function isServingFactory(value: unknown): value is ServingFactory {
  return typeof value === "object" && value !== null &&
    typeof (value as { serve?: unknown }).serve === "function";
}
