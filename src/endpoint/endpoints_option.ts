/**
 * Reading a client's `endpoints` and `balance` options: a non-empty list
 * of servers, each a TCP address or a Unix socket path, given instead of
 * the client's own `hostname`, `port` and `path`.
 *
 * @module
 */

import { checkIntegerOption } from "../base/options.ts";
import type { BalanceName } from "./balance.ts";
import type { ClientEndpoint } from "./client_options.ts";
import {
  CLIENT_PORT,
  type OptionError,
  readPath,
} from "./connection_options.ts";

/** One server of the list, read: a TCP address, or a socket path. */
export interface EndpointAddress {
  /** The host name (the path, for a Unix socket). */
  readonly hostname: string;
  /** The port (0 for a Unix socket). */
  readonly port: number;
  /** The Unix socket path, if it is one. */
  readonly path: string | undefined;
}

/** The options that say where one server is: they exclude `endpoints`. */
const SINGLE_SERVER = ["hostname", "port", "path", "transport"] as const;

/** What is read from a client's options about several servers. */
export interface EndpointsRead {
  /** The servers, in the order given. */
  readonly endpoints: readonly EndpointAddress[];
  /** How calls are spread over them. */
  readonly balance: BalanceName;
}

/**
 * Reads `endpoints` and `balance`.
 *
 * @param options The client's options as given.
 * @param fail Makes the error for a bad option.
 * @returns The servers and the policy; `undefined` without `endpoints`.
 * @throws The error `fail` makes: an empty or malformed list, a bad entry,
 * `endpoints` with `hostname`, `port`, `path` or `transport`, or a
 * `balance` that is not a policy's name (or without `endpoints`).
 *
 * @example
 * ```ts
 * import { readEndpoints } from "./endpoints_option.ts";
 * import assert from "node:assert/strict";
 *
 * const fail = (message: string) => new RangeError(message);
 * const read = readEndpoints({ endpoints: [{ port: 4000 }, { path: "/tmp/b.sock" }] }, fail);
 * assert.deepStrictEqual(read?.endpoints.map((e) => e.hostname), ["127.0.0.1", "/tmp/b.sock"]);
 * assert.equal(read?.balance, "round-robin");
 * assert.throws(() => readEndpoints({ endpoints: [] }, fail), RangeError);
 * assert.throws(() => readEndpoints({ endpoints: [{ port: 1 }], port: 2 }, fail), RangeError);
 * ```
 */
export function readEndpoints(
  options: {
    readonly endpoints?: readonly ClientEndpoint[];
    readonly balance?: BalanceName;
    readonly hostname?: unknown;
    readonly port?: unknown;
    readonly path?: unknown;
  },
  fail: OptionError,
): EndpointsRead | undefined {
  const { endpoints, balance } = options;
  if (endpoints === undefined) {
    if (balance !== undefined) {
      throw fail(
        "Option balance spreads calls over several servers: give them as endpoints.",
      );
    }
    return undefined;
  }
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw fail(
      "Option endpoints must be a non-empty array of servers ({ hostname, port } or { path }).",
    );
  }
  for (const name of SINGLE_SERVER) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw fail(
        `Options endpoints and ${name} exclude each other: give each server's address in endpoints.`,
      );
    }
  }
  if (
    balance !== undefined && balance !== "round-robin" &&
    balance !== "first-healthy"
  ) {
    throw fail(
      `Option balance must be "round-robin" or "first-healthy"; got ${
        typeof balance === "string" ? `"${balance}"` : typeof balance
      }.`,
    );
  }
  return {
    endpoints: endpoints.map((endpoint, index) =>
      readEndpoint(endpoint, index, fail)
    ),
    balance: balance ?? "round-robin",
  };
}

function readEndpoint(
  endpoint: ClientEndpoint,
  index: number,
  fail: OptionError,
): EndpointAddress {
  const prefix = `Option endpoints[${index}]`;
  if (typeof endpoint !== "object" || endpoint === null) {
    throw fail(`${prefix} must be { hostname, port } or { path }.`);
  }
  const inEntry = (message: string) => fail(`${prefix}: ${message}`);
  const path = readPath(endpoint, inEntry);
  if (path !== undefined) return { hostname: path, port: 0, path };
  const { hostname = "127.0.0.1" } = endpoint;
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw inEntry("hostname must be a non-empty string.");
  }
  if (endpoint.port === undefined) {
    throw inEntry("port is required (or path, for a Unix socket).");
  }
  const port = checkIntegerOption(
    "port",
    endpoint.port,
    CLIENT_PORT.min,
    CLIENT_PORT.max,
    inEntry,
  );
  return { hostname, port, path: undefined };
}
