/**
 * What a `Server` is built from: its options read and checked, in the order
 * the server always checked them, into where it listens, the frame limits of
 * its connections, the registry of its actions, and the admission that
 * opens a session for each connection.
 *
 * @module
 */

import { ServerError } from "../base/errors.ts";
import { checkExtensions } from "../codec/extension.ts";
import { MAX_HELLO_SIZE } from "../protocol/hello.ts";
import { MessageCodec } from "../protocol/message_codec.ts";
import type { ActionStatsTable } from "../dispatch/action_stats.ts";
import type { Middleware } from "../dispatch/middleware.ts";
import { ActionRegistry } from "../dispatch/registry.ts";
import type { TransportOptions } from "../wire/transport.ts";
import { Admission } from "./admission.ts";
import type { Endpoint } from "./open_session.ts";
import {
  checkReflection,
  checkSecret,
  CONNECTION_LIMITS,
  readIntegerOptions,
  readPath,
} from "./connection_options.ts";
import {
  isLoopback,
  SERVER_OPTIONS,
  type ServerOptions,
} from "./server_options.ts";

/** The parts a `Server` runs with. */
export interface ServerParts {
  /** The host name to listen on. */
  readonly hostname: string;
  /** The port to listen on (0: any free one). */
  readonly port: number;
  /** The Unix socket path to listen on instead, if any. */
  readonly path: string | undefined;
  /** The frame limits of every accepted connection. */
  readonly frames: TransportOptions;
  /** The actions the server offers. */
  readonly actions: ActionRegistry;
  /** Opens a session for each connection, up to `maxConnections`. */
  readonly admission: Admission;
  /** What every connection (and every transport) serves with. */
  readonly endpoint: Endpoint;
}

/**
 * Reads a server's options and builds what it runs with.
 *
 * @param options The server's options, as given.
 * @param stats Where every connection counts its calls.
 * @param middleware The server's middleware, as `use()` fills it.
 * @returns Where to listen, the frame limits, the registry and the admission.
 * @throws {ServerError} `INVALID_OPTIONS` for a bad option.
 * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
 */
export function setUpServer(
  options: ServerOptions,
  stats: ActionStatsTable,
  middleware: readonly Middleware[],
): ServerParts {
  checkReflection(options.reflection, invalidOption);
  const actions = new ActionRegistry(
    (code, message) => new ServerError(code, message),
    { reflection: options.reflection },
  );
  const path = readPath(options, invalidOption);
  const hostname = options.hostname ?? "127.0.0.1";
  const { port, idleTimeout, maxConnections } = readIntegerOptions(
    SERVER_OPTIONS,
    options,
    invalidOption,
  );
  const limits = readIntegerOptions(
    CONNECTION_LIMITS,
    options,
    invalidOption,
  );
  checkSecret(options.secret, invalidOption);
  const frames = {
    maxFrameSize: limits.maxFrameSize,
    maxFirstFrameSize: MAX_HELLO_SIZE,
  };
  // A Unix socket takes connections from this machine only.
  const exposeStack = options.exposeStack ??
    (path !== undefined || isLoopback(hostname));
  const codec = new MessageCodec(checkExtensions(options.extensions ?? []), {
    stacks: exposeStack,
  });
  const endpoint: Endpoint = {
    role: "server",
    codec,
    limits,
    actions,
    idleTimeout,
    exposeStack,
    stats,
    middleware,
  };
  const admission = new Admission(endpoint, maxConnections);
  return { hostname, port, path, frames, actions, admission, endpoint };
}

/**
 * Makes the error a bad server option throws.
 *
 * @param message What is wrong.
 * @returns A `ServerError` `INVALID_OPTIONS`.
 */
export function invalidOption(message: string): ServerError {
  return new ServerError("INVALID_OPTIONS", message);
}
