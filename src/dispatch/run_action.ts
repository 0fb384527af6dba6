/**
 * Runs an action for one request: checks the input against the action's
 * schema, calls the handler, checks its result against the output schema,
 * and hands the answer to a {@linkcode Responder}. It knows nothing of
 * connections: a session answers over its socket, and any other transport
 * (a message bus) can implement the responder the same way.
 *
 * @module
 */

import type { Action, ActionContext, ActionHandler } from "./action.ts";
import { describeIssues, validate, type Validation } from "../base/schema.ts";
import {
  errorFromWire,
  type WireError,
  wireError,
} from "../protocol/wire_error.ts";
import { isStreamSource } from "../protocol/stream.ts";
import type { ActionCounters } from "./action_stats.ts";
import type { Peer } from "./peer.ts";
import { Metadata } from "../protocol/metadata.ts";
import { IsockError } from "../base/errors.ts";
import type { PeerAddress } from "../wire/transport.ts";
import { type CallInfo, type Middleware, runMiddleware } from "./middleware.ts";

// What a handler sees of the call it runs: the `context` argument.

/**
 * What a handler sees of its call. The abort signal is made only when a
 * handler asks for it, so calls that never look cost nothing; a cancel that
 * came earlier is remembered, and the signal is born aborted.
 */
export class RequestContext implements ActionContext {
  #controller: AbortController | undefined;
  #isAborted = false;
  #reason: unknown;
  /** Where the call is counted when it ends, if its server keeps stats. */
  counters: ActionCounters | undefined = undefined;
  /** When the call started (`Date.now()`), for its processing time. */
  startedAt = 0;
  /** Its place among the deadlines its connection watches; `-1` when not watched. */
  queueIndex = -1;
  /**
   * Whether its deadline passed while it ran, and the call was answered
   * `TIMEOUT` for it (and counted, and its id freed).
   */
  isExpired = false;
  /**
   * Whether what the handler answers is dropped: the call was answered
   * `TIMEOUT` already, or the server gave up on it at shutdown (its caller
   * learns of that as the connection closes).
   */
  isAnswerDropped = false;
  #metadata: Metadata | undefined;
  #responseMetadata: Metadata | undefined;

  constructor(
    readonly action: string,
    readonly requestId: number,
    readonly peer: Peer,
    readonly identity: unknown,
    readonly deadline: number | undefined,
    readonly lastEventId: string | number | undefined,
    metadata?: Metadata,
  ) {
    this.#metadata = metadata;
  }

  /** The call's metadata; made empty when first asked for and none came. */
  get metadata(): Metadata {
    return this.#metadata ??= new Metadata();
  }

  /** The answer's metadata; made when first asked for. */
  get responseMetadata(): Metadata {
    return this.#responseMetadata ??= new Metadata();
  }

  /** The answer's metadata if anything asked for it: what goes with the answer. */
  get answerMetadata(): Metadata | undefined {
    return this.#responseMetadata;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#isAborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The answer is no longer wanted: the signal aborts (now, or when first asked for). */
  abort(reason: unknown): void {
    if (this.#isAborted) return;
    this.#isAborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

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
 * import { RequestContext } from "./run_action.ts";
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

// Runs an action for one request through the server's middleware: the
// chain wraps {@linkcode runAction} (schemas and handler), sees its result,
// its stream or its error, and what the chain gives back is the answer.
// Used only when middleware is installed: without, requests go straight to
// `runAction` and pay nothing for it.

/** The error objects behind the errors `next()` rejected with: sent as they were when passed on unchanged. */
const answered = new WeakMap<object, WireError>();

/** A request as the server's middleware sees it: a view of its context. */
class ServerCall implements CallInfo {
  readonly side = "server";
  readonly attempt = 1;
  readonly #context: RequestContext;

  constructor(
    context: RequestContext,
    public data: unknown,
    readonly kind: "call" | "stream",
  ) {
    this.#context = context;
  }

  get action(): string {
    return this.#context.action;
  }

  get metadata(): Metadata {
    return this.#context.metadata;
  }

  get responseMetadata(): Metadata {
    return this.#context.responseMetadata;
  }

  get peer(): PeerAddress {
    return this.#context.peer;
  }

  get deadline(): number | undefined {
    return this.#context.deadline;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }
}

/**
 * Runs `action` for one request through `middleware`, and answers through
 * `responder` with what the chain returns. An error a middleware throws
 * goes to the caller with its code when it is an isock error, else as
 * `ACTION_FAILED`; an error from the action passed on unchanged goes as
 * it came.
 *
 * @param middleware The server's middleware, outermost first.
 * @param action The action found for the request.
 * @param data The request's data (ignored when it streams in).
 * @param streamsInput Whether the data streams in.
 * @param isStream Whether the caller takes the result as a stream.
 * @param context What the handler sees of its call.
 * @param responder Where the answer goes.
 */
export function runWithMiddleware(
  middleware: readonly Middleware[],
  action: Action,
  data: unknown,
  streamsInput: boolean,
  isStream: boolean,
  context: RequestContext,
  responder: Responder,
): void {
  const call = new ServerCall(context, data, isStream ? "stream" : "call");
  runMiddleware(middleware, call, () =>
    new Promise((resolve, reject) => {
      runAction(action, call.data, streamsInput, context, {
        exposeStack: responder.exposeStack,
        result: (_context, value) => resolve(value),
        stream: (_context, source) => resolve(source),
        error: (_context, error) => {
          const thrown = errorFromWire(error);
          answered.set(thrown, error);
          reject(thrown);
        },
        openInput: (context) => responder.openInput(context),
      });
    })).then(
      (value) =>
        isStreamSource(value)
          ? responder.stream(context, value)
          : responder.result(context, value),
      (error) =>
        responder.error(
          context,
          (typeof error === "object" && error !== null &&
            answered.get(error)) ||
            wireError(
              error instanceof IsockError ? error.code : "ACTION_FAILED",
              error,
              responder.exposeStack,
            ),
        ),
    );
}
