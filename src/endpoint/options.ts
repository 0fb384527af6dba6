/**
 * Options, declared once each: its field (type and documentation, with its
 * `@default`) in one interface, and its row beside it (default, bounds or
 * check, and a line of documentation) in a table typed against that
 * interface, so a field without a row, or a row without a field, does not
 * compile. {@linkcode parseOptions} reads a table in a given order: a typo
 * fails at once, in the constructor, with the option's name, what it takes
 * and what was given. This file holds the machinery and what both ends
 * take ({@linkcode ConnectionOptions}); client_options.ts and
 * server_options.ts hold each end's own.
 *
 * @module
 */

import { checkExtensions, type Extension } from "../codec/extension.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "../wire/framing.ts";
import { MAX_HELLO_SIZE } from "../protocol/hello.ts";

/** Makes the error a bad option throws: a `ClientError` or a `ServerError`. */
export type OptionError = (message: string) => Error;

/**
 * One option's row: its default, and how a given value is checked: an
 * integer within `min` and `max`, or by `check`.
 */
export interface OptionRow<T> {
  /** The value when the option is left out; none when it is required or off. */
  readonly default?: T;
  /** For an integer option: the smallest value allowed. */
  readonly min?: number;
  /** For an integer option: the largest value allowed. */
  readonly max?: number;
  /**
   * For any other option: checks a given value (never `undefined`) and
   * returns what the end runs with.
   */
  readonly check?: (value: unknown, fail: OptionError) => T;
  /** What the option does, in one line. */
  readonly doc: string;
}

/** The rows of every option of `X`: one per field, no more. */
export type Rows<X> = {
  readonly [K in keyof X]-?: OptionRow<NonNullable<X[K]>>;
};

/** What both ends take: each option declared once. */
export interface ConnectionOptions {
  /**
   * The largest frame this end accepts, in bytes. The peer learns it in
   * the hello and sends nothing larger: a client refuses such a call
   * itself, a server answers such a result with `FRAME_TOO_LARGE`; a peer
   * that sends a larger frame anyway is disconnected.
   *
   * @default {67108864}
   */
  maxFrameSize?: number;
  /**
   * How long the hello (and authentication) may take, in milliseconds: on
   * a client, each connection attempt as a whole (the TCP connect, the TLS
   * handshake, then the server's hello), so a server that accepts and says
   * nothing costs an attempt this long, never a hang; on a server, how
   * long a new connection may take to say hello before it is closed
   * (peers that connect and say nothing, or trickle their hello).
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds between heartbeat pings. A peer silent for three
   * intervals (a machine that vanished without closing the connection) is
   * taken for dead: a client's calls in flight reject with
   * `CONNECTION_CLOSED` and the next call reconnects; a server disconnects
   * the client and its handlers' signals abort. 0 turns heartbeats off.
   * With a client's `endpoints`, three intervals are also how long a
   * server back after a drop stays on probation (30 s when heartbeats are
   * off).
   *
   * @default {10000}
   */
  heartbeatInterval?: number;
  /**
   * The most of the peer's calls one connection may have running at once
   * (a client's: its server's two-way calls to the client's actions).
   * Further calls are answered at once with `OVERLOADED`, without running,
   * instead of queueing without bound.
   *
   * @default {1000}
   */
  maxInFlight?: number;
  /**
   * Classes that travel as themselves; the peer must register the same.
   *
   * @default {[]}
   */
  extensions?: readonly Extension[];
  /**
   * Whether this end answers the built-in describe request
   * (`client.describe()`, `peer.describe()`, `isock ls`) with the actions
   * it offers: their names, idempotence, whether they stream, and their
   * schemas as JSON Schema. Authenticated peers only, like any call. With
   * `false` the request is answered `UNKNOWN_ACTION`, as for any name this
   * end does not know.
   *
   * @default {true}
   */
  reflection?: boolean;
  /**
   * The secret shared by client and server, proved by challenge and
   * response (HMAC-SHA256 over fresh nonces; the secret itself never
   * travels), by each end to the other. A client without it is refused
   * with `UNAUTHORIZED` before any action runs; a server that does not
   * prove it fails the client's calls with `UNAUTHORIZED`.
   */
  secret?: string | Uint8Array;
}

/** What every connection runs with, read from {@linkcode ConnectionOptions}. */
export interface ConnectionConfig extends ConnectionLimits {
  /** The classes that travel as themselves. */
  readonly extensions: readonly Extension[];
  /** Whether the describe request is answered. */
  readonly reflection: boolean;
  /** The shared secret, if any. */
  readonly secret: string | Uint8Array | undefined;
}

/** The rows of {@linkcode ConnectionOptions}. */
export const CONNECTION_OPTIONS: Rows<ConnectionOptions> = {
  maxFrameSize: {
    default: DEFAULT_MAX_FRAME_SIZE,
    min: MAX_HELLO_SIZE,
    max: 0xffff_ffff,
    doc: "The largest frame this end accepts, in bytes.",
  },
  handshakeTimeout: {
    default: 10_000,
    min: 1,
    max: MAX_TIMEOUT,
    doc: "How long the hello (and authentication) may take, in milliseconds.",
  },
  heartbeatInterval: {
    default: 10_000,
    min: 0,
    max: MAX_TIMEOUT,
    doc: "Milliseconds between heartbeat pings; 0 turns them off.",
  },
  maxInFlight: {
    default: 1_000,
    min: 1,
    max: 2 ** 31,
    doc: "How many of the peer's calls may run at once.",
  },
  extensions: {
    default: [],
    check: (value) => checkExtensions(value as readonly Extension[]),
    doc: "Classes that travel as themselves.",
  },
  reflection: {
    default: true,
    check: (value, fail) => {
      checkReflection(value, fail);
      return value as boolean;
    },
    doc: "Whether the describe request is answered.",
  },
  secret: {
    check: (value, fail) => {
      checkSecret(value as string | Uint8Array, fail);
      return value as string | Uint8Array;
    },
    doc: "The secret shared by client and server.",
  },
};

/**
 * Reads options by their rows, in `order` (the order decides which error
 * a set of bad options fails with first): each given value checked, or
 * the row's default when it is left out.
 *
 * @param rows Each option's row.
 * @param given The options as the user gave them.
 * @param fail Makes the error for a bad value.
 * @param order The options to read, in the order to check them.
 * @returns What was read, by name (`undefined` for an option left out that
 * has no default).
 * @throws The error `fail` makes, or the one a row's `check` throws, for
 * the first bad option.
 *
 * @example
 * ```ts
 * import { parseOptions, type Rows } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * interface Options {
 *   retry?: number;
 *   name?: string;
 * }
 * const rows: Rows<Options> = {
 *   retry: { default: 3, min: 0, max: 10, doc: "Tries." },
 *   name: { check: (value: unknown) => String(value), doc: "A name." },
 * };
 * const fail = (message: string) => new RangeError(message);
 * assert.deepStrictEqual(
 *   parseOptions<Options>(rows, {}, fail, ["retry", "name"]),
 *   { retry: 3, name: undefined },
 * );
 * assert.throws(
 *   () => parseOptions<Options>(rows, { retry: 11 }, fail, ["retry"]),
 *   { message: "Option retry must be an integer from 0 to 10; got 11." },
 * );
 * ```
 */
export function parseOptions<X extends object>(
  rows: Rows<X>,
  given: X,
  fail: OptionError,
  order: readonly (keyof X & string)[],
): { [K in keyof X]: X[K] } {
  const read = {} as { [K in keyof X]: X[K] };
  for (const name of order) {
    const row = rows[name] as OptionRow<unknown>;
    const value = given[name] as unknown;
    if (value === undefined) {
      read[name] = row.default as X[typeof name];
    } else if (row.check !== undefined) {
      read[name] = row.check(value, fail) as X[typeof name];
    } else {
      read[name] = checkIntegerOption(
        name,
        value as number,
        row.min!,
        row.max!,
        fail,
      ) as X[typeof name];
    }
  }
  return read;
}

/**
 * What every connection of one end runs with, read from its options in
 * the order each end always checked them: the four limits, then
 * `secret`, `reflection` and `extensions`.
 *
 * @param given The options as the user gave them.
 * @param fail Makes the error for a bad value.
 * @returns The connection's config, frozen.
 */
export function readConnectionConfig(
  given: ConnectionOptions,
  fail: OptionError,
): ConnectionConfig {
  return Object.freeze(
    parseOptions(CONNECTION_OPTIONS, given, fail, CONNECTION_ORDER),
  ) as ConnectionConfig;
}

const CONNECTION_ORDER = [
  "maxFrameSize",
  "handshakeTimeout",
  "heartbeatInterval",
  "maxInFlight",
  "secret",
  "reflection",
  "extensions",
] as const;

/** An integer option: its bounds, and its default when it may be left out. */
export interface IntegerRule {
  /** The value when the option is left out; none when it is required. */
  readonly default?: number;
  /** The smallest value allowed. */
  readonly min: number;
  /** The largest value allowed. */
  readonly max: number;
}

/** The limits every connection has, from either end's options. */
export interface ConnectionLimits {
  /** The largest frame accepted, in bytes (announced in the hello). */
  readonly maxFrameSize: number;
  /** How long the hello (and authentication) may take, in milliseconds. */
  readonly handshakeTimeout: number;
  /** Milliseconds between heartbeat pings; 0 turns them off. */
  readonly heartbeatInterval: number;
  /** How many of the peer's calls may run at once. */
  readonly maxInFlight: number;
}

/** The rules of {@linkcode ConnectionLimits}: the integer rows of {@linkcode CONNECTION_OPTIONS}. */
export const CONNECTION_LIMITS: {
  readonly [K in keyof ConnectionLimits]: IntegerRule;
} = {
  maxFrameSize: CONNECTION_OPTIONS.maxFrameSize as IntegerRule,
  handshakeTimeout: CONNECTION_OPTIONS.handshakeTimeout as IntegerRule,
  heartbeatInterval: CONNECTION_OPTIONS.heartbeatInterval as IntegerRule,
  maxInFlight: CONNECTION_OPTIONS.maxInFlight as IntegerRule,
};

/** A port to connect to: required. */
export const CLIENT_PORT: IntegerRule = { min: 0, max: 65535 };
/** A port to listen on: 0 picks a free one. */
export const SERVER_PORT: IntegerRule = { default: 0, min: 0, max: 65535 };

/**
 * Reads integer options by their rules, in the rules' order: the given
 * value, or the default when it is left out.
 *
 * @param rules Each option's default and bounds.
 * @param given The options as the user gave them.
 * @param fail Makes the error for a bad value.
 * @returns Every option of `rules`, checked.
 * @throws The error `fail` makes, for the first option out of its bounds.
 *
 * @example
 * ```ts
 * import { readIntegerOptions } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const rules = { retry: { default: 3, min: 0, max: 10 } };
 * const fail = (message: string) => new RangeError(message);
 * assert.deepStrictEqual(readIntegerOptions(rules, {}, fail), { retry: 3 });
 * assert.throws(() => readIntegerOptions(rules, { retry: 11 }, fail), RangeError);
 * ```
 */
export function readIntegerOptions<K extends string>(
  rules: { readonly [Key in K]: IntegerRule },
  given: { readonly [Key in NoInfer<K>]?: number },
  fail: OptionError,
): { [Key in K]: number } {
  const read = {} as { [Key in K]: number };
  for (const name of Object.keys(rules) as K[]) {
    const rule = rules[name];
    read[name] = checkIntegerOption(
      name,
      given[name] ?? rule.default as number,
      rule.min,
      rule.max,
      fail,
    );
  }
  return read;
}

/**
 * Checks a shared secret: when given, it must not be empty.
 *
 * @param secret The secret, as given.
 * @param fail Makes the error for an empty one.
 * @throws The error `fail` makes, for an empty secret.
 */
export function checkSecret(
  secret: string | Uint8Array | undefined,
  fail: OptionError,
): void {
  if (secret !== undefined && secret.length === 0) {
    throw fail("Option secret is empty.");
  }
}

/**
 * Checks the `reflection` option: a boolean, or absent (on).
 *
 * @param reflection The option as given.
 * @param fail Makes the error for anything else.
 * @throws The error `fail` makes, for a value that is not a boolean.
 */
export function checkReflection(reflection: unknown, fail: OptionError): void {
  if (reflection !== undefined && typeof reflection !== "boolean") {
    throw fail(
      `Option reflection must be true or false; got ${typeof reflection}.`,
    );
  }
}

/**
 * Reads the `path` option (a Unix socket instead of TCP): a non-empty
 * string, never together with `hostname` or `port`, which it replaces.
 *
 * @param options The options as given: `path`, `hostname`, `port`.
 * @param fail Makes the error for a bad combination.
 * @returns The path, or `undefined` for TCP.
 * @throws The error `fail` makes, for an empty or non-string path, or a
 * path given with `hostname` or `port`.
 *
 * @example
 * ```ts
 * import { readPath } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * const fail = (message: string) => new RangeError(message);
 * assert.equal(readPath({ path: "/tmp/app.sock" }, fail), "/tmp/app.sock");
 * assert.equal(readPath({ port: 4440 }, fail), undefined);
 * assert.throws(() => readPath({ path: "/tmp/a.sock", port: 1 }, fail), RangeError);
 * ```
 */
export function readPath(
  options: {
    readonly path?: unknown;
    readonly hostname?: unknown;
    readonly port?: unknown;
  },
  fail: OptionError,
): string | undefined {
  const { path } = options;
  if (path === undefined) return undefined;
  if (typeof path !== "string" || path.length === 0) {
    throw fail(
      `Option path must be the file path of a Unix socket; got ${
        typeof path === "string" ? "an empty string" : typeof path
      }.`,
    );
  }
  const other = options.hostname !== undefined
    ? "hostname"
    : options.port !== undefined
    ? "port"
    : undefined;
  if (other !== undefined) {
    throw fail(
      `Options path and ${other} exclude each other: path is a Unix socket, ${other} is for TCP.`,
    );
  }
  return path;
}

/**
 * Returns `value` when it is an integer from `min` to `max`.
 *
 * @throws The error `fail` makes, otherwise.
 */
export function checkIntegerOption(
  name: string,
  value: number,
  min: number,
  max: number,
  fail: (message: string) => Error,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw fail(
      `Option ${name} must be an integer from ${min} to ${max}; got ${
        typeof value === "string" ? `the string "${value}"` : String(value)
      }.`,
    );
  }
  return value;
}
