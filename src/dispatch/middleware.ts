/**
 * Middleware: functions wrapped around every call, on the client (each try
 * of an outgoing call) and on the server (each incoming request), in the
 * order they were installed: the first installed is the outermost. One
 * type serves both ends and both kinds of call, so one middleware (a
 * logger, a tracer) is written once.
 *
 * @module
 */

import type { Metadata } from "../protocol/metadata.ts";
import type { PeerAddress } from "../wire/transport.ts";

/**
 * One call as middleware sees it, on either end.
 *
 * For a `"call"`, `next()` resolves with the action's result (or rejects
 * with its error); for a `"stream"`, with an `AsyncIterable` of the items.
 * A middleware returns what the caller (client) or the answer (server)
 * gets: the same, or something else.
 */
export interface CallInfo {
  /** Which end runs the middleware: the caller's or the handler's. */
  readonly side: "client" | "server";
  /** A call with one result, or a call whose result is a stream. */
  readonly kind: "call" | "stream";
  /** The action's name. */
  readonly action: string;
  /** The call's input; may be replaced before `next()`. */
  data: unknown;
  /**
   * The call's metadata. Before `next()`, what is set here goes with the
   * call (client) or is what the handler sees (server).
   */
  readonly metadata: Metadata;
  /**
   * The answer's metadata: on the client, filled once the answer arrived
   * (after `next()` settles); on the server, what is set here (before the
   * answer, or before a stream ends) goes back with the answer.
   */
  readonly responseMetadata: Metadata;
  /** The other end: the server (client side), or the client (server side). */
  readonly peer: PeerAddress;
  /** When the caller stops waiting (`Date.now()` scale), if it set a timeout. */
  readonly deadline: number | undefined;
  /** Aborts when the call is given up, if there is such a signal. */
  readonly signal: AbortSignal | undefined;
  /**
   * Which try this is: 1, then 2, 3… when the client sends the call again
   * (an idempotent call after a dropped connection, a resumed stream). The
   * server sees 1.
   */
  readonly attempt: number;
}

/** Runs the rest of the chain (the next middleware, at last the call itself). */
export type Next = () => Promise<unknown>;

/**
 * A function wrapped around calls: it may look at and change the call
 * before `next()`, time it, refuse it (throw an isock error: the caller
 * gets its code), replace the result, or pass errors on.
 *
 * @param call The call.
 * @param next Runs the rest; call it at most once.
 * @returns The result (for a stream, its items).
 *
 * @example One middleware on both ends, counting a stream's items
 * ```ts
 * import { action, Client, type Middleware, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const counter: Middleware = async (call, next) => {
 *   const result = await next();
 *   if (call.kind !== "stream") return result;
 *   return (async function* () {
 *     let n = 0;
 *     for await (const item of result as AsyncIterable<unknown>) {
 *       n++;
 *       yield item;
 *     }
 *     seen.push(`${call.side}: ${n} items`);
 *   })();
 * };
 * const count = action("count", async function* (to: number) {
 *   for (let n = 1; n <= to; n++) yield n;
 * });
 * await using server = new Server().addAction(count).use(counter);
 * await using client = new Client({ port: (await server.listen()).port }).use(counter);
 * for await (const _ of client.stream(count, 3));
 * assert.ok(seen.includes("client: 3 items"));
 * ```
 */
export type Middleware =
  & ((
    call: CallInfo,
    next: Next,
  ) => unknown)
  & {
    /**
     * Whether the middleware has anything to do right now. When every
     * installed middleware says no, calls take the plain path, as with none
     * installed (an instrumentation with nothing to record, say).
     */
    readonly isActive?: () => boolean;
  };

/**
 * Whether no middleware of `list` has anything to do: none is installed,
 * or every one says it is not active.
 *
 * @param list The middleware, outermost first.
 * @returns Whether calls may take the plain path.
 */
export function isIdle(list: readonly Middleware[] | undefined): boolean {
  if (list === undefined) return true;
  for (const middleware of list) {
    if (middleware.isActive === undefined || middleware.isActive()) {
      return false;
    }
  }
  return true;
}

/**
 * Runs `call` through `middleware`, then `last`.
 *
 * @param middleware The chain, outermost first.
 * @param call The call.
 * @param last Runs the call itself.
 * @returns What the outermost middleware returned.
 *
 * @example
 * ```ts
 * import { runMiddleware, type CallInfo } from "./middleware.ts";
 * import assert from "node:assert/strict";
 *
 * const order: string[] = [];
 * const result = await runMiddleware([
 *   async (_call, next) => { order.push("a"); return (await next() as number) + 1; },
 *   async (_call, next) => { order.push("b"); return next(); },
 * ], {} as CallInfo, () => Promise.resolve(41));
 * assert.equal(result, 42);
 * assert.deepStrictEqual(order, ["a", "b"]);
 * ```
 */
export function runMiddleware(
  middleware: readonly Middleware[],
  call: CallInfo,
  last: Next,
): Promise<unknown> {
  const chain = middleware.slice(); // One added during the call waits for the next.
  const step = (index: number): Promise<unknown> => {
    if (index === chain.length) return last();
    let called = false;
    try {
      return Promise.resolve(chain[index](call, () => {
        if (called) {
          return Promise.reject(
            new TypeError("A middleware called next() twice."),
          );
        }
        called = true;
        return step(index + 1);
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return step(0);
}
