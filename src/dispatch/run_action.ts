/**
 * Runs an action for one request: checks the input against the action's
 * schema, calls the handler, checks its result against the output schema,
 * and hands the answer to a {@linkcode Responder}. It knows nothing of
 * connections: a session answers over its socket, and any other transport
 * (a message bus) can implement the responder the same way.
 *
 * @module
 */

import type { Action, ActionHandler } from "./action.ts";
import type { RequestContext } from "./request_context.ts";
import { describeIssues, validate, type Validation } from "../base/schema.ts";
import { type WireError, wireError } from "../protocol/wire_error.ts";
import { isStreamSource } from "../protocol/stream.ts";

/** Finds the action to run for a request, by name. */
export type ActionLookup = (name: string) => Action | undefined;

/**
 * Where the answer to a request goes. The run is over once `result`,
 * `error` or `stream` is called, exactly once per request.
 */
export interface Responder {
  /** Whether error stacks are sent to the caller. */
  readonly exposeStack: boolean;
  /** The action answered with a value (already checked against its output schema). */
  result(context: RequestContext, value: unknown): void;
  /** The action failed, or its input or result was refused. */
  error(context: RequestContext, error: WireError): void;
  /** The action returned a stream: its items go to the caller. */
  stream(context: RequestContext, source: AsyncIterable<unknown>): void;
  /** The request's data streams in: the handler iterates what arrives. */
  openInput(context: RequestContext): AsyncIterable<unknown>;
}

/**
 * The error for a request that names no action here.
 *
 * @param name The name asked for.
 * @returns The error object.
 */
export function unknownAction(name: string): WireError {
  return {
    code: "UNKNOWN_ACTION",
    name: "RemoteError",
    message: `No action named "${name}" here.`,
  };
}

/**
 * Runs `action` for one request and answers through `responder`.
 *
 * @param action The action found for the request.
 * @param data The request's data (ignored when it streams in).
 * @param streamsInput Whether the data streams in, item by item.
 * @param context What the handler sees of its call.
 * @param responder Where the answer goes.
 *
 * @example
 * ```ts
 * import { runAction } from "./run_action.ts";
 * import { RequestContext } from "./request_context.ts";
 * import { action, type Action } from "./action.ts";
 * import assert from "node:assert/strict";
 *
 * const double = action("double", (n: number) => n * 2) as unknown as Action;
 * const context = new RequestContext("double", 1, {} as never, undefined, undefined, undefined);
 * let answer: unknown;
 * runAction(double, 21, false, context, {
 *   exposeStack: false,
 *   result: (_context, value) => answer = value,
 *   error() {}, stream() {}, openInput: () => [].values() as never,
 * });
 * assert.equal(answer, 42);
 * ```
 */
export function runAction(
  action: Action,
  data: unknown,
  streamsInput: boolean,
  context: RequestContext,
  responder: Responder,
): void {
  if (streamsInput) {
    if (action.input !== undefined) {
      // A schema checks one value: streamed data would go round it.
      return responder.error(context, {
        code: "INVALID_INPUT",
        name: "RemoteError",
        message:
          `"${context.action}" checks its input with a schema and takes a single value, not a stream.`,
      });
    }
    return runHandler(action, responder.openInput(context), context, responder);
  }
  if (action.input === undefined) {
    return runHandler(action, data, context, responder);
  }
  const validation = validate(action.input, data);
  if (validation instanceof Promise) {
    validation.then(
      (result) => runValidated(action, result, context, responder),
      (error) => fail(context, error, responder),
    );
  } else {
    runValidated(action, validation, context, responder);
  }
}

function runValidated(
  action: Action,
  validation: Validation,
  context: RequestContext,
  responder: Responder,
): void {
  if (validation.issues !== undefined) {
    return responder.error(context, {
      code: "INVALID_INPUT",
      name: "RemoteError",
      message: `Invalid input for "${context.action}": ${
        describeIssues(validation.issues)
      }`,
      issues: validation.issues,
    });
  }
  runHandler(action, validation.value, context, responder);
}

function runHandler(
  action: Action,
  data: unknown,
  context: RequestContext,
  responder: Responder,
): void {
  let result: unknown;
  let isPromise: boolean;
  try {
    result = (action.handler as ActionHandler<unknown, unknown>)(data, context);
    isPromise = isPromiseLike(result);
  } catch (error) {
    return fail(context, error, responder);
  }
  if (isPromise) {
    Promise.resolve(result).then(
      (value) => answer(action, value, context, responder),
      (error) => fail(context, error, responder),
    );
  } else {
    answer(action, result, context, responder);
  }
}

/** A handler finished: check its result against the output schema, then answer. */
function answer(
  action: Action,
  value: unknown,
  context: RequestContext,
  responder: Responder,
): void {
  if (isStreamSource(value)) return responder.stream(context, value);
  if (action.output === undefined) return responder.result(context, value);
  const validation = validate(action.output, value);
  if (validation instanceof Promise) {
    validation.then(
      (result) => answerValidated(result, context, responder),
      (error) => fail(context, error, responder),
    );
  } else {
    answerValidated(validation, context, responder);
  }
}

function answerValidated(
  validation: Validation,
  context: RequestContext,
  responder: Responder,
): void {
  if (validation.issues === undefined) {
    return responder.result(context, validation.value);
  }
  responder.error(context, {
    code: "ACTION_FAILED",
    name: "TypeError",
    message:
      `The result of "${context.action}" does not match its output schema: ${
        describeIssues(validation.issues)
      }`,
    issues: validation.issues,
  });
}

/** The handler (or a schema) threw: the caller gets the error, with a stack only when allowed. */
function fail(
  context: RequestContext,
  thrown: unknown,
  responder: Responder,
): void {
  responder.error(
    context,
    wireError("ACTION_FAILED", thrown, responder.exposeStack),
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}
