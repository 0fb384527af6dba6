/**
 * The options a client and a server check alike, written once as a table:
 * each integer option's default and bounds. A typo fails at once, in the
 * constructor, with the option's name, its bounds and what was given.
 *
 * @module
 */

import { checkIntegerOption } from "../base/options.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "../wire/framing.ts";
import { MAX_HELLO_SIZE } from "../protocol/hello.ts";

/** Makes the error a bad option throws: a `ClientError` or a `ServerError`. */
export type OptionError = (message: string) => Error;

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

/** The rules of {@linkcode ConnectionLimits}: the same on both ends. */
export const CONNECTION_LIMITS: {
  readonly [K in keyof ConnectionLimits]: IntegerRule;
} = {
  maxFrameSize: {
    default: DEFAULT_MAX_FRAME_SIZE,
    min: MAX_HELLO_SIZE,
    max: 0xffff_ffff,
  },
  handshakeTimeout: { default: 10_000, min: 1, max: MAX_TIMEOUT },
  heartbeatInterval: { default: 10_000, min: 0, max: MAX_TIMEOUT },
  maxInFlight: { default: 1_000, min: 1, max: 2 ** 31 },
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
 * import { readIntegerOptions } from "./connection_options.ts";
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
 * import { readPath } from "./connection_options.ts";
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
