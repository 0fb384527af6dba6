/**
 * Actions: what a server can do for its clients. An action is a plain
 * object, a name and a handler; a reference is the name alone, typed, for
 * the client side and for handlers that need the server's state. Keep them
 * in a file both programs import, as the types flow from there.
 *
 * @module
 */

import { IsockError } from "./errors.ts";
import type { PeerAddress } from "./transport.ts";

/**
 * A typed reference to an action: its name, and (for the type checker
 * only) what it takes and returns. Pass one to
 * {@linkcode Client.runAction} to get a typed result.
 *
 * @typeParam I What the action takes.
 * @typeParam O What it returns.
 */
export interface ActionRef<I = unknown, O = unknown> {
  /** The name the server knows the action by. */
  readonly name: string;
  /** Carries the input and output types for the type checker; never set. */
  readonly "~types"?: { input: (input: I) => void; output: O };
}

/**
 * An action: a name and the handler that runs it.
 *
 * @typeParam I What the action takes.
 * @typeParam O What it returns.
 */
export interface Action<I = unknown, O = unknown> extends ActionRef<I, O> {
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
  /** The address of the client that called. */
  readonly peer: PeerAddress;
  /**
   * Aborted when the answer can no longer be delivered: the connection
   * closed or the server stopped waiting for handlers. Long work should
   * watch it and stop.
   */
  readonly signal: AbortSignal;
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
 * @returns The reference.
 *
 * @example
 * ```ts
 * import { action } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const exec = action<string[], string>("exec");
 * assert.deepStrictEqual(exec, { name: "exec" });
 * ```
 */
export function action<I = unknown, O = unknown>(
  name: string,
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
export function action<I, O>(
  name: string,
  handler?: ActionHandler<I, O>,
): ActionRef<I, O> | Action<I, O> {
  if (typeof name !== "string" || name.length === 0) {
    throw new IsockError(
      "INVALID_ACTION",
      "An action needs a non-empty string name.",
    );
  }
  if (handler === undefined) return Object.freeze({ name });
  if (typeof handler !== "function") {
    throw new IsockError(
      "INVALID_ACTION",
      `The handler of action "${name}" must be a function.`,
    );
  }
  return Object.freeze({ name, handler });
}

/** Whether `value` is an action a server can register: a name and a handler. */
export function isAction(value: unknown): value is Action {
  return isActionRef(value) &&
    typeof (value as { handler?: unknown }).handler === "function";
}

/** Whether `value` names an action: an object with a non-empty string `name`. */
export function isActionRef(value: unknown): value is ActionRef {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    (value as { name: string }).name.length > 0;
}
