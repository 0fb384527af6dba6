/**
 * One chaos call: drawn from the seed (its kind, data and options), made
 * through its client with a bounded wait, and checked against the
 * invariants of `invariants.ts`.
 *
 * @module
 */

import type { Client } from "../../mod.ts";
import { randomBytes } from "../helpers.ts";
import {
  callBack,
  echo,
  type Ledger,
  record,
  slow,
  slowOnce,
  ticks,
  upload,
  type UploadItem,
} from "./actions.ts";
import {
  type CallKind,
  checkRejection,
  checkResult,
  describeOutcome,
  isOnceOnly,
  type SettledCall,
  type Violation,
} from "./invariants.ts";

/** Each kind of call, with how often it is drawn. */
const KINDS: readonly (readonly [CallKind, number])[] = [
  ["record", 20],
  ["echo", 14],
  ["slow", 14],
  ["slowOnce", 10],
  ["ticks", 18],
  ["upload", 10],
  ["callBack", 14],
];

/** A client of the workload, with the options it was drawn. */
export interface ClientSetup {
  index: number;
  client: Client;
  retry: number;
  timeout: number;
  handshakeTimeout: number;
  /** Connections this client completed so far (its `connect` events). */
  connects: number;
}

/** One call to make. */
export interface CallPlan {
  callId: string;
  kind: CallKind;
  setup: ClientSetup;
  /** The call's deadline in milliseconds: its own timeout, or the client's. */
  deadline: number;
  /** When to abort the call, if ever. */
  abortAfter?: number;
  /** The call's data (for streams and uploads, what the source is made of). */
  data: Record<string, unknown>;
  describe: string;
}

/** How a call ended, and what it broke. */
export interface Settled {
  /** The rejection's code, `ok` for a success, `PENDING` when it never settled. */
  code: string;
  violations: Violation[];
}

/** How late timers fire: a busy machine delays everything, fixed library or not. */
export interface LagMonitor {
  /** The worst delay of a 25 ms timer so far, in milliseconds. */
  readonly worst: number;
  stop(): void;
}

/** Draws one call: its kind, data and options. */
export function plan(
  random: () => number,
  callId: string,
  setup: ClientSetup,
): CallPlan {
  const total = KINDS.reduce((sum, [, weight]) => sum + weight, 0);
  let pick = random() * total;
  let kind: CallKind = "record";
  for (const [candidate, weight] of KINDS) {
    pick -= weight;
    if (pick < 0) {
      kind = candidate;
      break;
    }
  }
  // Every call has a deadline: the client's, or its own.
  const own = setup.timeout === 0 || random() < 0.3
    ? 800 + Math.floor(random() * 1700)
    : undefined;
  const deadline = own ?? setup.timeout;
  const abortAfter = (kind === "slow" || kind === "slowOnce") &&
      random() < 0.15
    ? Math.floor(random() * 600)
    : undefined;
  return {
    callId,
    kind,
    setup,
    deadline,
    abortAfter,
    describe:
      `${callId} ${kind} (client ${setup.index}: retry ${setup.retry}, handshake timeout ${setup.handshakeTimeout} ms, ${
        own === undefined ? "client" : "call"
      } timeout ${deadline} ms${
        abortAfter === undefined ? "" : `, aborted after ${abortAfter} ms`
      })`,
    data: drawData(random, kind, callId, deadline),
  };
}

/** The data of one call; its size decides where in it a cut can fall. */
function drawData(
  random: () => number,
  kind: CallKind,
  callId: string,
  deadline: number,
): Record<string, unknown> {
  const payload = () =>
    random() < 0.2
      ? randomBytes(random, 2000 + Math.floor(random() * 30_000))
      : { text: "x".repeat(Math.floor(random() * 200)), at: new Date(0) };
  switch (kind) {
    case "record":
      return { callId, payload: payload(), ms: Math.floor(random() * 50) };
    case "echo":
      return { callId, payload: payload() };
    case "slow":
    case "slowOnce":
      // Around the deadline, so that some answers come just as it passes.
      return {
        callId,
        ms: Math.max(50, Math.floor(deadline * (0.2 + random() * 0.9))),
      };
    case "ticks": {
      const gap = 3 + Math.floor(random() * 12);
      const count = Math.max(
        5,
        Math.min(60, Math.floor(deadline * (0.3 + random() * 0.5) / gap)),
      );
      return { callId, count, gap, window: 1 + Math.floor(random() * 16) };
    }
    case "upload":
      return {
        callId,
        items: Array.from(
          { length: 3 + Math.floor(random() * 10) },
          () => 300 + Math.floor(random() * 1700),
        ),
      };
    case "callBack":
      return { callId };
  }
}

/** Makes one call, waits for it (bounded), and checks its invariants. */
export async function settle(
  call: CallPlan,
  ledger: Ledger,
  grace: number,
  lag: LagMonitor,
): Promise<Settled> {
  const { setup, callId } = call;
  const violations: Violation[] = [];
  const fail = (invariant: string, detail: string) =>
    violations.push({ invariant, call: call.describe, detail });
  const wasConnected = setup.client.isConnected;
  const connectsBefore = setup.connects;
  const controller = new AbortController();
  const abortTimer = call.abortAfter === undefined
    ? undefined
    : setTimeout(() => controller.abort(), call.abortAfter);
  const startedAt = performance.now();
  const items: unknown[] = [];
  let sentBytes = 0;
  const running = makeCall(call, controller.signal, items, (bytes) => {
    sentBytes += bytes;
  });
  const hardLimit = call.deadline + grace + 3000;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    running.then(
      (value) => ({ status: "fulfilled" as const, value }),
      (reason) => ({ status: "rejected" as const, reason }),
    ),
    new Promise<{ status: "pending" }>((resolve) => {
      watchdog = setTimeout(() => resolve({ status: "pending" }), hardLimit);
    }),
  ]);
  clearTimeout(watchdog);
  clearTimeout(abortTimer);
  const elapsed = Math.round(performance.now() - startedAt);

  if (outcome.status === "pending") {
    fail("settles-in-time", `still pending ${hardLimit} ms after it started`);
    // Closing the client settles it; the run waits for that.
    await running.catch(() => {});
    return { code: "PENDING", violations };
  }
  const allowed = call.deadline + grace + lag.worst;
  if (elapsed > allowed) {
    fail(
      "settles-in-time",
      `settled (${
        describeOutcome(outcome)
      }) after ${elapsed} ms, deadline ${call.deadline} ms + grace ${grace} ms + worst lag ${
        Math.round(lag.worst)
      } ms`,
    );
  }
  const settled: SettledCall = {
    callId,
    kind: call.kind,
    data: call.data,
    client: setup.index,
    runs: ledger.runs(callId),
    hasConnected: wasConnected || setup.connects > connectsBefore,
    wasAborted: controller.signal.aborted,
    elapsed,
    items,
    sentBytes,
  };
  if (isOnceOnly(settled) && settled.runs > 1) {
    fail("at-most-once", `the handler ran ${settled.runs} times`);
  }
  if (outcome.status === "rejected") {
    const code = checkRejection(settled, outcome.reason, fail);
    return { code, violations };
  }
  checkResult(
    settled,
    outcome.value as Record<string, unknown> | undefined,
    fail,
  );
  return { code: "ok", violations };
}

/** Starts the call through its client; a stream's items go to `items`. */
async function makeCall(
  call: CallPlan,
  signal: AbortSignal,
  items: unknown[],
  onSent: (bytes: number) => void,
): Promise<unknown> {
  const { client, timeout } = call.setup;
  const { callId, data } = call;
  const own = call.deadline === timeout ? {} : { timeout: call.deadline };
  switch (call.kind) {
    case "record":
      return await client.runAction(record, data as never, own);
    case "echo":
      return await client.runAction(echo, data as never, own);
    case "slow":
      return await client.runAction(slow, data as never, { ...own, signal });
    case "slowOnce":
      return await client.runAction(slowOnce, data as never, {
        ...own,
        signal,
      });
    case "ticks": {
      const { window, ...input } = data as { window: number };
      for await (
        const item of client.stream(ticks, input as never, {
          timeout: call.deadline,
          window,
        })
      ) {
        items.push(item);
      }
      return items;
    }
    case "upload": {
      const sizes = data.items as number[];
      const source = async function* (): AsyncGenerator<UploadItem> {
        for (let seq = 0; seq < sizes.length; seq++) {
          onSent(sizes[seq]);
          yield { callId, seq, bytes: new Uint8Array(sizes[seq]) };
        }
      };
      return await client.runAction(upload, source(), own);
    }
    case "callBack":
      return await client.runAction(callBack, data as never, own);
  }
}

/** Starts measuring how late a 25 ms timer fires. */
export function lagMonitor(): LagMonitor {
  const period = 25;
  let expected = performance.now() + period;
  const monitor = {
    worst: 0,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    const now = performance.now();
    monitor.worst = Math.max(monitor.worst, now - expected);
    expected = now + period;
  }, period);
  return monitor;
}
