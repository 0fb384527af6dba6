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

import { ServerError } from "../base/errors.ts";
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
   * most, then aborts them and waits a short grace for their handlers to
   * return: `stopRunning`), then stops.
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

/**
 * Starts serving through a transport, for `server.listen(transport)`.
 *
 * @param transport What `listen()` was given.
 * @param served What the server serves with.
 * @param isShutDown Whether the server's `shutdown()` was called.
 * @returns What stops the transport.
 * @throws {ServerError} `INVALID_OPTIONS` for something that is not a
 * transport, `ALREADY_LISTENING` after a shutdown, `LISTEN_FAILED` when the
 * server shut down while the transport started.
 */
export async function startServing(
  transport: unknown,
  served: ServedEndpoint,
  isShutDown: () => boolean,
): Promise<ServingTransport> {
  if (!isServingFactory(transport)) {
    throw new ServerError(
      "INVALID_OPTIONS",
      "listen() takes no argument (TCP), or what natsTransport() returns.",
    );
  }
  if (isShutDown()) {
    throw new ServerError(
      "ALREADY_LISTENING",
      "This server was shut down; create a new one.",
    );
  }
  const serving = await transport.serve(served);
  if (isShutDown()) {
    await serving.close(0);
    throw new ServerError(
      "LISTEN_FAILED",
      "The server was shut down while it was starting.",
    );
  }
  return serving;
}
