/**
 * Errors as they travel (PROTOCOL.md, "Error object"): what a thrown value
 * becomes on the wire, and what a caller gets back from one.
 *
 * What a server withholds with `exposeStack` off is one rule: no stack
 * trace leaves it. The encoder leaves out the stack of every `Error` in
 * everything it writes, wherever the error sits (see `MessageCodec`'s
 * `stacks`); what a handler threw is an error report as a whole, so
 * {@linkcode wireError} also drops every `stack` (and `remoteStack`) field
 * of the objects inside it (a thrown `{ message, stack }`, an error-like
 * cause, a `RemoteError` passed on).
 *
 * @module
 */

import {
  ClientError,
  type IsockError,
  RemoteError,
  type RemoteErrorCode,
} from "../base/errors.ts";
import type { SchemaIssue } from "../base/schema.ts";
import { isPlainObject, isRecord, malformed } from "./malformed.ts";

// The error object as it travels (PROTOCOL.md, "Error object"), and the
// check every incoming one passes: anything off is a protocol breach, and
// nothing the peer sent is called.

/** An error as it travels (PROTOCOL.md, "Error object"). */
export interface WireError {
  /** A stable code such as `"ACTION_FAILED"`. */
  code: string;
  /** The name of the error raised, such as `"TypeError"`. */
  name: string;
  /** Its message. */
  message: string;
  /** Its stack, when the sender chose to share it. */
  stack?: string;
  /** Its cause, when there was one and it could be encoded. */
  cause?: unknown;
  /** For `INVALID_INPUT` (and output checks): what the schema found wrong. */
  issues?: SchemaIssue[];
  /** The error's own fields, such as an HTTP `status` (PROTOCOL.md, "Error object"). */
  fields?: Record<string, unknown>;
}

/**
 * Checks the shape of an error object from the peer.
 *
 * @param value The decoded error item of a message.
 * @returns The error object, with only the known fields.
 * @throws {ProtocolError} `PROTOCOL` when it is malformed.
 * @example
 * ```ts
 * import { toWireError } from "./wire_error.ts";
 * import assert from "node:assert/strict";
 *
 * const error = toWireError({ code: "X", name: "Error", message: "m", extra: 1 });
 * assert.deepStrictEqual(error, { code: "X", name: "Error", message: "m" });
 * assert.throws(() => toWireError("oops"), /must be a map/);
 * ```
 */
export function toWireError(value: unknown): WireError {
  if (!isRecord(value)) throw malformed("an error object must be a map");
  const { code, name, message, stack, issues, fields } = value;
  if (typeof code !== "string" || code.length === 0) {
    throw malformed("an error object's code must be a non-empty string");
  }
  if (typeof name !== "string" || typeof message !== "string") {
    throw malformed("an error object's name and message must be strings");
  }
  const error: WireError = { code, name, message };
  if (stack !== undefined) {
    if (typeof stack !== "string") {
      throw malformed("an error object's stack must be a string");
    }
    error.stack = stack;
  }
  if ("cause" in value) error.cause = value.cause;
  if (issues !== undefined) error.issues = toIssues(issues);
  if (fields !== undefined) {
    if (!isPlainObject(fields)) {
      throw malformed("an error object's fields must be a map");
    }
    error.fields = fields;
  }
  return error;
}

const BAD_PATH = "an issue's path must be an array of strings and numbers";

function toIssues(value: unknown): SchemaIssue[] {
  if (!Array.isArray(value)) {
    throw malformed("an error object's issues must be an array");
  }
  const issues: SchemaIssue[] = [];
  // A plain loop: holes in the array are malformed issues too.
  for (let i = 0; i < value.length; i++) {
    const issue: unknown = value[i];
    if (!isRecord(issue) || typeof issue.message !== "string") {
      throw malformed("an issue must be a map with a string message");
    }
    const path: unknown = issue.path ?? [];
    if (!Array.isArray(path)) throw malformed(BAD_PATH);
    const keys: (string | number)[] = [];
    for (let j = 0; j < path.length; j++) {
      const key: unknown = path[j];
      if (typeof key !== "string" && typeof key !== "number") {
        throw malformed(BAD_PATH);
      }
      keys.push(key);
    }
    issues.push({ message: issue.message, path: keys });
  }
  return issues;
}

/**
 * Whether a call was refused unrun because the peer was closing (a
 * `CONNECTION_CLOSED` whose {@linkcode ClientError.wasRun} is `false`):
 * sending it again, on a new connection, is safe.
 *
 * @param error What the call failed with.
 * @returns Whether the peer refused it without running it.
 *
 * @example
 * ```ts
 * import { errorFromWire, wasNotRun } from "./wire_error.ts";
 * import assert from "node:assert/strict";
 *
 * const refused = errorFromWire({
 *   code: "CONNECTION_CLOSED",
 *   name: "ClientError",
 *   message: "The server is shutting down.",
 * });
 * assert.equal(wasNotRun(refused), true);
 * ```
 */
export function wasNotRun(error: unknown): boolean {
  return error instanceof ClientError &&
    error.code === "CONNECTION_CLOSED" && error.wasRun === false;
}

/** Fields an error object carries by itself, never among its own fields. */
const ERROR_KEYS = new Set(["name", "message", "stack", "cause", "errors"]);
/** Fields that hold stack traces: an error's, and a `RemoteError`'s from its server. */
const STACK_KEYS = new Set(["stack", "remoteStack"]);

/**
 * The error object sent for a thrown value: its name, message, stack and
 * cause, and its own fields (an `HttpError`'s `status`) under `fields`. It
 * never throws itself, even for values whose getters or `toString` do.
 *
 * @param code The code to send, such as `"ACTION_FAILED"`.
 * @param thrown What the handler threw or rejected with.
 * @param exposeStack Whether stacks may go: when `false`, the error has no
 * `stack`, and its cause and fields no `stack` fields (the stacks of the
 * `Error`s inside them are left out by the encoder).
 */
export function wireError(
  code: string,
  thrown: unknown,
  exposeStack = true,
): WireError {
  const error = describeThrown(code, thrown);
  if (!exposeStack) {
    delete error.stack;
    if ("cause" in error) redactInPlace(error, "cause");
    if ("fields" in error) redactInPlace(error, "fields");
  }
  return error;
}

function describeThrown(code: string, thrown: unknown): WireError {
  try {
    if (thrown instanceof Error) {
      const error: WireError = {
        code,
        name: safeString(thrown.name),
        message: safeString(thrown.message),
      };
      if (typeof thrown.stack === "string") error.stack = thrown.stack;
      if ("cause" in thrown) error.cause = thrown.cause;
      const fields = ownFields(thrown);
      if (thrown instanceof AggregateError) fields.errors = thrown.errors;
      if (Object.keys(fields).length > 0) error.fields = fields;
      return error;
    }
  } catch {
    // A hostile error object: fall through to the plain description.
  }
  return {
    code,
    name: readString(thrown, "name") ?? "Error",
    message: readString(thrown, "message") ?? safeString(thrown),
    cause: thrown,
  };
}

/**
 * An error's own enumerable fields, besides those every error has. Fields
 * holding functions or symbols are left out (they cannot be sent), and so
 * are those whose getters throw.
 */
function ownFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (ERROR_KEYS.has(key)) continue;
    try {
      const value = (error as unknown as Record<string, unknown>)[key];
      if (typeof value === "function" || typeof value === "symbol") continue;
      define(fields, key, value, true);
    } catch {
      // A getter that throws: that field stays home.
    }
  }
  return fields;
}

/** A string field of a thrown non-`Error` (a `{ name, message }` object), if it has one. */
function readString(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  try {
    const field = (value as Record<string, unknown>)[key];
    return typeof field === "string" ? field : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A string for any value, never throwing: values with a `toString` that
 * throws (or is not a function, as in objects from the wire) get their
 * `[object …]` tag.
 */
export function safeString(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "[object]";
    }
  }
}

/** How many values {@linkcode withoutStacks} looks at before giving up on a value. */
export const MAX_REDACTED_VALUES = 100_000;
/** How deep {@linkcode withoutStacks} looks before giving up on a value. */
export const MAX_REDACTED_DEPTH = 512;

/** Why a value was not redacted: too large, too deep or circular. */
class Unredactable extends Error {}

/** Replaces `report[key]` by a copy without stacks, or deletes it when that cannot be made. */
function redactInPlace(report: WireError, key: "cause" | "fields"): void {
  try {
    report[key] = withoutStacks(report[key]) as Record<string, unknown>;
  } catch {
    // Circular (it could not be sent anyway), too large to check, or a
    // getter threw: what cannot be checked does not go.
    delete report[key];
  }
}

/**
 * A value without `stack` (or `remoteStack`) fields: the plain objects in
 * it lose theirs, and
 * `Error`s, arrays, `Map`s and `Set`s holding such objects are copied
 * without them. What needs no change is returned as it is (the encoder
 * leaves out the stacks of `Error`s themselves). Class instances other than
 * errors are kept as they are: they may be extension values.
 *
 * The walk is bounded: at most {@linkcode MAX_REDACTED_VALUES} values and
 * {@linkcode MAX_REDACTED_DEPTH} levels, each object looked at once.
 *
 * @param value Anything.
 * @returns The value, or a copy without `stack` fields.
 * @throws {Error} When the value is circular, deeper or larger than the
 * bounds, or a getter throws.
 *
 * @example
 * ```ts
 * import { withoutStacks } from "./wire_error.ts";
 * import assert from "node:assert/strict";
 *
 * const thrown = { message: "no", stack: "at /srv/app.ts:1:1", data: [1] };
 * assert.deepStrictEqual(withoutStacks(thrown), { message: "no", data: [1] });
 * ```
 */
export function withoutStacks(value: unknown): unknown {
  return new StackRedaction().redact(value, 0);
}

/** One walk of {@linkcode withoutStacks}. */
class StackRedaction {
  #remaining = MAX_REDACTED_VALUES;
  /** Objects whose walk is done, and what they became. */
  readonly #done = new Map<object, unknown>();
  /** Objects being walked: meeting one again means a cycle. */
  readonly #open = new Set<object>();

  redact(value: unknown, depth: number): unknown {
    if (--this.#remaining < 0 || depth > MAX_REDACTED_DEPTH) {
      throw new Unredactable("too large to check");
    }
    if (typeof value !== "object" || value === null) return value;
    if (this.#done.has(value)) return this.#done.get(value);
    if (this.#open.has(value)) throw new Unredactable("circular");
    this.#open.add(value);
    const result = this.#redactObject(value, depth + 1);
    this.#open.delete(value);
    this.#done.set(value, result);
    return result;
  }

  #redactObject(value: object, depth: number): unknown {
    if (Array.isArray(value)) return this.#redactArray(value, depth);
    if (value instanceof Map) {
      let isChanged = false;
      const entries: [unknown, unknown][] = [];
      for (const [key, item] of value) {
        const entry: [unknown, unknown] = [
          this.redact(key, depth),
          this.redact(item, depth),
        ];
        isChanged ||= entry[0] !== key || entry[1] !== item;
        entries.push(entry);
      }
      return isChanged ? new Map(entries) : value;
    }
    if (value instanceof Set) {
      let isChanged = false;
      const members: unknown[] = [];
      for (const member of value) {
        const copy = this.redact(member, depth);
        isChanged ||= copy !== member;
        members.push(copy);
      }
      return isChanged ? new Set(members) : value;
    }
    if (value instanceof Error) return this.#redactError(value, depth);
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return value;
    return this.#redactFields(value as Record<string, unknown>, depth, {});
  }

  #redactArray(value: readonly unknown[], depth: number): unknown {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) {
        --this.#remaining; // A hole costs a step too.
        continue;
      }
      const item = value[i];
      const redacted = this.redact(item, depth);
      if (redacted !== item && copy === undefined) {
        copy = new Array(value.length);
        for (let j = 0; j < i; j++) if (j in value) copy[j] = value[j];
      }
      if (copy !== undefined) copy[i] = redacted;
    }
    return copy ?? value;
  }

  /**
   * An error whose cause, errors or own fields hold `stack` fields becomes
   * a copy of the same class without them.
   */
  #redactError(value: Error, depth: number): unknown {
    const cause = "cause" in value
      ? this.redact(value.cause, depth)
      : undefined;
    const errors = value instanceof AggregateError
      ? this.redact(value.errors, depth)
      : undefined;
    const fields = this.#redactFields(
      value as unknown as Record<string, unknown>,
      depth,
      {},
    );
    if (
      cause === value.cause && fields === value &&
      (!(value instanceof AggregateError) || errors === value.errors)
    ) return value;
    const copy = Object.create(Object.getPrototypeOf(value)) as Error;
    define(copy, "name", value.name, false);
    define(copy, "message", value.message, false);
    if ("cause" in value) define(copy, "cause", cause, false);
    if (value instanceof AggregateError) define(copy, "errors", errors, false);
    for (const key of Object.keys(fields as object)) {
      define(copy, key, (fields as Record<string, unknown>)[key], true);
    }
    return copy;
  }

  /**
   * An object's own enumerable fields without `stack`: the object itself
   * when nothing changes, else a plain copy.
   */
  #redactFields(
    value: Record<string, unknown>,
    depth: number,
    copy: Record<string, unknown>,
  ): unknown {
    let isChanged = false;
    const isError = value instanceof Error;
    for (const key of Object.keys(value)) {
      if (STACK_KEYS.has(key)) {
        isChanged = true;
        continue;
      }
      if (isError && ERROR_KEYS.has(key)) continue;
      const item = value[key];
      const redacted = this.redact(item, depth);
      isChanged ||= redacted !== item;
      define(copy, key, redacted, true);
    }
    return isChanged ? copy : value;
  }
}

function define(
  target: object,
  key: string,
  value: unknown,
  isEnumerable: boolean,
): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: isEnumerable,
    writable: true,
    configurable: true,
  });
}

/**
 * The error a call rejects with when the peer answered with `error`.
 *
 * @param error The error object from the wire.
 * @returns A `ClientError` for `CONNECTION_CLOSED` (refused unrun: its
 * `wasRun` is `false`), `UNAUTHORIZED` and `TIMEOUT` (the peer found the
 * call's deadline passed, as the caller would have), a `RemoteError`
 * otherwise.
 */
export function errorFromWire(error: WireError): IsockError {
  if (error.code === "CONNECTION_CLOSED") {
    // The peer answers a call with this only when it refused to run it.
    return new ClientError("CONNECTION_CLOSED", error.message, {
      wasRun: false,
    });
  }
  if (error.code === "UNAUTHORIZED" || error.code === "TIMEOUT") {
    return new ClientError(error.code, error.message);
  }
  return new RemoteError(error.code as RemoteErrorCode, error.message, {
    remoteName: error.name,
    remoteStack: error.stack,
    issues: error.issues,
    remoteFields: error.fields,
    ...("cause" in error ? { cause: error.cause } : {}),
  });
}
