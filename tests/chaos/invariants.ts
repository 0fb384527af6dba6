/**
 * The chaos workload's invariants, checked on each call once it settled.
 *
 * - `settles-in-time`: every call settles by its deadline plus a grace
 *   (500 ms, plus the worst event-loop lag seen in the run).
 * - `typed-rejection`: every rejection is an `IsockError` with a code.
 * - `expected-code`: the proxy never changes a byte, so the only failures
 *   it can explain are `TIMEOUT`, `CONNECTION_CLOSED`, `CONNECT_FAILED`,
 *   `ABORTED` (when the call was aborted), `NOT_RESENDABLE` (an upload cut
 *   after part of its input went) and, for a two-way call whose callback
 *   failed, `ACTION_FAILED`; never `PROTOCOL` or `UNAUTHORIZED`.
 * - `own-result`: a result echoes its own call id and payload.
 * - `at-most-once`: a non-idempotent handler never runs twice for one call,
 *   and a non-idempotent call that succeeded ran exactly once.
 * - `never-sent`: a call during which its client never completed a
 *   connection (none open when it began, no `connect` event while it ran)
 *   was never sent, so it must not fail with `CONNECTION_CLOSED` ("may or
 *   may not have run"): a handshake cut or timed out is part of connecting,
 *   retried within `retry`, then `CONNECT_FAILED`. The one exception is the
 *   client's documented fast failure after a server's goodbye when nothing
 *   answers at its address any more (`CONNECTION_CLOSED` caused by a
 *   `CONNECT_FAILED`), which the proxy, always accepting, never causes.
 * - `stream-once-in-order`: a tracked stream delivers each item once, in
 *   order, across drops, and all of them when it ends without error.
 * - `upload-complete`: an upload that succeeded was received whole.
 * - `clean-after`: once the clients are closed, the server has no
 *   connection and no running handler (checked by the workload itself).
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { ClientError, IsockError } from "../../mod.ts";
import { ONCE_ONLY } from "./actions.ts";

/** One broken invariant. */
export interface Violation {
  invariant: string;
  /** The call that broke it, with its options. */
  call: string;
  detail: string;
}

/** Records a broken invariant of the call being checked. */
export type Fail = (invariant: string, detail: string) => void;

/** A call's kind, as the workload draws it. */
export type CallKind =
  | "record"
  | "echo"
  | "slow"
  | "slowOnce"
  | "ticks"
  | "upload"
  | "callBack";

/** What the invariants need to know of a settled call. */
export interface SettledCall {
  callId: string;
  kind: CallKind;
  /** The call's data (for streams and uploads, what the source is made of). */
  data: Record<string, unknown>;
  /** The calling client's index, which a two-way call's answer names. */
  client: number;
  /** How often the non-idempotent handler ran for this call. */
  runs: number;
  /** Whether a connection was open when the call began, or completed while it ran. */
  hasConnected: boolean;
  /** Whether the caller aborted the call. */
  wasAborted: boolean;
  /** How long the call took, in milliseconds. */
  elapsed: number;
  /** The items a stream delivered. */
  items: unknown[];
  /** The bytes an upload's source yielded in all (over every try). */
  sentBytes: number;
}

const ALLOWED_CODES = new Set([
  "TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECT_FAILED",
]);

/** Checks a rejected call; returns its code (`UNTYPED` for a rejection without one). */
export function checkRejection(
  call: SettledCall,
  error: unknown,
  fail: Fail,
): string {
  const code = checkError(call, error, fail);
  if (call.kind === "ticks") checkTicks(call.items, call.data, false, fail);
  return code;
}

function checkError(call: SettledCall, error: unknown, fail: Fail): string {
  if (!(error instanceof IsockError) || typeof error.code !== "string") {
    fail("typed-rejection", `rejected with ${inspect(error)}`);
    return "UNTYPED";
  }
  const { code } = error;
  const isAllowed = ALLOWED_CODES.has(code) ||
    (code === "ABORTED" && call.wasAborted) ||
    // An upload cut after some of its input went cannot be replayed.
    (code === "NOT_RESENDABLE" && call.kind === "upload") ||
    (code === "ACTION_FAILED" && call.kind === "callBack");
  if (!isAllowed) {
    fail(
      "expected-code",
      `rejected ${code} after ${call.elapsed} ms: ${error.message}`,
    );
  }
  const isNothingAnswers = error.cause instanceof ClientError &&
    error.cause.code === "CONNECT_FAILED";
  if (
    code === "CONNECTION_CLOSED" && !call.hasConnected && !isNothingAnswers
  ) {
    fail(
      "never-sent",
      `rejected CONNECTION_CLOSED after ${call.elapsed} ms though its client completed no connection during the call (never sent): ${error.message}`,
    );
  }
  return code;
}

/** Checks a call that resolved: its own answer, whole, run once. */
export function checkResult(
  call: SettledCall,
  value: Record<string, unknown> | undefined,
  fail: Fail,
): void {
  const { callId, data } = call;
  switch (call.kind) {
    case "record":
    case "echo":
      if (
        value?.callId !== callId ||
        !isDeepStrictEqual(value.payload, data.payload)
      ) {
        fail("own-result", `resolved ${inspect(value)}`);
      }
      break;
    case "slow":
    case "slowOnce":
      if (value?.callId !== callId) {
        fail("own-result", `resolved ${inspect(value)}`);
      }
      break;
    case "callBack": {
      const answer = value?.answer as Record<string, unknown> | undefined;
      if (
        value?.callId !== callId || answer?.callId !== callId ||
        answer?.client !== call.client
      ) {
        fail("own-result", `resolved ${inspect(value)}`);
      }
      break;
    }
    case "ticks":
      checkTicks(call.items, data, true, fail);
      break;
    case "upload": {
      const sizes = data.items as number[];
      const expected = sizes.reduce((a, b) => a + b, 0);
      if (
        value?.callId !== callId || value.isMixed !== false ||
        value.bytes !== expected || value.items !== sizes.length
      ) {
        fail(
          "upload-complete",
          `resolved ${
            inspect(value)
          } for ${expected} bytes in ${sizes.length} items (the source yielded ${call.sentBytes} bytes in all)`,
        );
      }
      break;
    }
  }
  if (isOnceOnly(call) && call.runs !== 1) {
    fail("at-most-once", `succeeded, but the handler ran ${call.runs} times`);
  }
}

/** Whether the call's handler must run at most once. */
export function isOnceOnly(call: SettledCall): boolean {
  return ONCE_ONLY.has(`chaos.${call.kind}`);
}

/** Items 1, 2, 3… each once, for this call; all of them when the stream ended well. */
function checkTicks(
  items: unknown[],
  data: Record<string, unknown>,
  isComplete: boolean,
  fail: Fail,
): void {
  const ns: unknown[] = [];
  let isWrong = false;
  items.forEach((item, i) => {
    const tick = item as { callId?: unknown; n?: unknown };
    ns.push(tick?.n);
    if (tick?.callId !== data.callId || tick?.n !== i + 1) isWrong = true;
  });
  if (isComplete && items.length !== data.count) isWrong = true;
  if (isWrong) {
    fail(
      "stream-once-in-order",
      `${isComplete ? "ended" : "failed"} after items n = [${
        ns.join(", ")
      }] of ${data.count}`,
    );
  }
}

/** "resolved", or "rejected" with the code. */
export function describeOutcome(
  outcome: { status: "fulfilled" } | { status: "rejected"; reason: unknown },
): string {
  if (outcome.status === "fulfilled") return "resolved";
  const error = outcome.reason;
  return error instanceof IsockError ? `rejected ${error.code}` : "rejected";
}

function inspect(value: unknown): string {
  const text = Deno.inspect(value, { depth: 3, breakLength: Infinity });
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
