/**
 * Runs an action for one request through the server's middleware: the
 * chain wraps {@linkcode runAction} (schemas and handler), sees its result,
 * its stream or its error, and what the chain gives back is the answer.
 * Used only when middleware is installed: without, requests go straight to
 * `runAction` and pay nothing for it.
 *
 * @module
 */

import type { Action } from "./action.ts";
import { IsockError } from "../base/errors.ts";
import type { Metadata } from "../protocol/metadata.ts";
import {
  errorFromWire,
  type WireError,
  wireError,
} from "../protocol/wire_error.ts";
import { isStreamSource } from "../protocol/stream.ts";
import type { PeerAddress } from "../wire/transport.ts";
import type { CallInfo, Middleware } from "./middleware.ts";
import { runMiddleware } from "./middleware.ts";
import type { RequestContext } from "./request_context.ts";
import { type Responder, runAction } from "./run_action.ts";

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
export function runWatched(
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
