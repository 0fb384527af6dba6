/**
 * Actions: what a server can do for its clients. An action is a plain
 * object, a name and a handler; a reference is the name alone, typed, for
 * the client side and for handlers that need the server's state. Keep them
 * in a file both programs import, as the types flow from there.
 *
 * @module
 */

import { IsockError } from "../base/errors.ts";
import { isStandardSchema, type StandardSchemaV1 } from "../base/schema.ts";
import { type ActionRef, isActionRef, type Peer } from "./peer.ts";
import type { Metadata } from "../protocol/metadata.ts";

/**
 * An action: a name and the handler that runs it.
 *
 * @typeParam I What the action takes.
 * @typeParam O What it returns.
 */
export interface Action<I = never, O = unknown> extends ActionRef<I, O> {
  /** Runs the action on the server. */
  readonly handler: ActionHandler<I, O>;
}

/**
 * Runs an action: receives the client's data and returns (or resolves to)
 * the answer. What it throws reaches the client as a
 * {@linkcode RemoteError} with code `ACTION_FAILED`.
 */
export type ActionHandler<I, O> = (
  data: I,
  context: ActionContext,
) => O | Promise<O>;

/** What a handler knows about the call it is running. */
export interface ActionContext {
  /** The name of the action called. */
  readonly action: string;
  /** The request id, unique among the calls in flight on this connection. */
  readonly requestId: number;
  /**
   * The peer that called: its address (`hostname`, `port`), identity, and
   * `runAction()` / `stream()` to call the actions it offers back on the same
   * connection.
   */
  readonly peer: Peer;
  /**
   * Who the client is: what the server's `authenticate` function returned
   * for this connection, or `undefined` when the server has none.
   */
  readonly identity: unknown;
  /**
   * Aborts when the answer is no longer wanted: the client cancelled or
   * timed out, the connection closed, or the server stopped waiting during
   * shutdown. Long work should watch it and stop. When the server itself
   * finds the call's {@linkcode ActionContext.deadline} passed (a client
   * that froze or vanished sends no cancel), the reason is a
   * `ClientError` with code `TIMEOUT`.
   */
  readonly signal: AbortSignal;
  /**
   * When the client stops waiting, in milliseconds since 1970 by this
   * machine's clock (`Date.now()`), or `undefined` when it set no timeout.
   */
  readonly deadline: number | undefined;
  /**
   * For a stream resumed after a dropped connection: the id of the last
   * item the caller received (see {@linkcode tracked}). Go on after it.
   */
  readonly lastEventId: string | number | undefined;
  /**
   * The call's metadata: what the caller sent as `metadata` (and what
   * middleware added). Keys are case-insensitive.
   */
  readonly metadata: Metadata;
  /**
   * Metadata sent back with the answer (the caller reads it through
   * `onResponseMetadata`); for a stream, with its end. Keys are
   * case-insensitive; `set()` throws `INVALID_METADATA` past the limits.
   */
  readonly responseMetadata: Metadata;
}

/** What {@linkcode action} may declare besides the name and handler. */
export interface ActionOptions<I = unknown, O = unknown, D = I> {
  /**
   * A Standard Schema (zod, valibot, arktype…) for the data. The server
   * refuses invalid data with `INVALID_INPUT` before the handler runs; the
   * handler receives what the schema returns. Callers send the schema's
   * input type (`I`); the handler gets its output type (`D`).
   */
  input?: StandardSchemaV1<I, D>;
  /**
   * A Standard Schema for the result. A result that fails it is not sent:
   * the call fails with `ACTION_FAILED`.
   */
  output?: StandardSchemaV1<unknown, O>;
  /**
   * Whether running the action twice does no harm (reading a sensor, say).
   * The client may then send it again on a new connection when the
   * connection drops under it; other actions fail with `CONNECTION_CLOSED`
   * instead, as they may or may not have run.
   *
   * @default {false}
   */
  idempotent?: boolean;
}

/** The input type of an action or reference. */
export type ActionInput<A> = A extends ActionRef<infer I, unknown> ? I
  : never;

/** The output type of an action or reference. */
export type ActionOutput<A> = A extends ActionRef<unknown, infer O> ? O
  : never;

/**
 * Declares a typed reference to an action, without a handler: the client
 * uses it to call, and the server pairs it with a handler that can reach
 * the server's state (see {@linkcode Server.addAction}).
 *
 * @param name The action's name.
 * @param options Schemas and idempotence; the types come from the schemas.
 * @returns The reference.
 * @throws {IsockError} `INVALID_ACTION` for an empty name or bad options.
 *
 * @example
 * ```ts
 * import { action } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const exec = action<string[], string>("exec");
 * assert.deepStrictEqual(exec, { name: "exec" });
 * const read = action<undefined, number>("readSensor", { idempotent: true });
 * assert.equal(read.idempotent, true);
 * ```
 */
export function action<I = unknown, O = unknown, D = I>(
  name: string,
  options?: ActionOptions<I, O, D>,
): ActionRef<I, O>;
/**
 * Declares an action: its name and the handler that runs it. The input
 * and output types come from the handler.
 *
 * @param name The action's name.
 * @param handler Runs the action.
 * @returns The action.
 * @throws {IsockError} `INVALID_ACTION` for an empty name or a handler that is not a function.
 *
 * @example
 * ```ts
 * import { action } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const echo = action("echo", (data: string) => data);
 * assert.equal(echo.name, "echo");
 * ```
 */
export function action<I, O>(
  name: string,
  handler: ActionHandler<I, O>,
): Action<I, O>;
/**
 * Declares an action with options: schemas that check its data and result
 * (the handler's types come from them), or idempotence.
 *
 * @param name The action's name.
 * @param options Schemas and idempotence.
 * @param handler Runs the action.
 * @returns The action.
 * @throws {IsockError} `INVALID_ACTION` for an empty name, bad options, or
 * a handler that is not a function.
 *
 * @example Validate the input with any Standard Schema
 * ```ts
 * import { action, type StandardSchemaV1 } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * // A hand-written schema; a zod, valibot or arktype schema works the same.
 * const positive: StandardSchemaV1<number> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) =>
 *       typeof value === "number" && value > 0
 *         ? { value }
 *         : { issues: [{ message: "expected a positive number" }] },
 *   },
 * };
 * const sqrt = action("sqrt", { input: positive }, (n) => Math.sqrt(n));
 * assert.equal(sqrt.input, positive);
 * ```
 */
export function action<D, O, I = D>(
  name: string,
  options: ActionOptions<I, O, D>,
  handler: ActionHandler<D, O>,
): Action<I, O>;
export function action<I, O>(
  name: string,
  optionsOrHandler?: ActionOptions<I, O> | ActionHandler<I, O>,
  maybeHandler?: ActionHandler<I, O>,
): ActionRef<I, O> | Action<I, O> {
  if (typeof name !== "string" || name.length === 0) {
    throw new IsockError(
      "INVALID_ACTION",
      "An action needs a non-empty string name.",
    );
  }
  if (
    optionsOrHandler !== undefined && typeof optionsOrHandler !== "function" &&
    (typeof optionsOrHandler !== "object" || optionsOrHandler === null)
  ) {
    throw new IsockError(
      "INVALID_ACTION",
      `The second argument of action("${name}") must be a handler or options.`,
    );
  }
  const handler = typeof optionsOrHandler === "function"
    ? optionsOrHandler
    : maybeHandler;
  const options = typeof optionsOrHandler === "object"
    ? checkOptions(name, optionsOrHandler)
    : {};
  if (handler === undefined && maybeHandler === undefined) {
    return Object.freeze({ name, ...options });
  }
  if (typeof handler !== "function") {
    throw new IsockError(
      "INVALID_ACTION",
      `The handler of action "${name}" must be a function.`,
    );
  }
  return Object.freeze({ name, ...options, handler });
}

function checkOptions<I, O>(
  name: string,
  options: ActionOptions<I, O>,
): ActionOptions<I, O> {
  for (const key of ["input", "output"] as const) {
    if (options[key] !== undefined && !isStandardSchema(options[key])) {
      throw new IsockError(
        "INVALID_ACTION",
        `The ${key} of action "${name}" must be a Standard Schema (zod, valibot, arktype…).`,
      );
    }
  }
  const checked: ActionOptions<I, O> = {};
  if (options.input !== undefined) checked.input = options.input;
  if (options.output !== undefined) checked.output = options.output;
  if (options.idempotent === true) checked.idempotent = true;
  return checked;
}

/** Whether `value` is an action a server can register: a name and a handler. */
export function isAction(value: unknown): value is Action {
  return isActionRef(value) &&
    typeof (value as { handler?: unknown }).handler === "function";
}
