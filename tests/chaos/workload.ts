/**
 * The chaos workload: a server, a {@linkcode FaultProxy} in front of it,
 * and a few clients making a bounded, seeded mix of calls through it —
 * non-idempotent and idempotent calls, slow calls that honour their
 * signal, tracked streams, uploads and two-way calls, with `retry`,
 * timeouts and (on odd seeds) a shared secret. Halfway through, the server
 * is restarted behind the proxy. Then the invariants are checked, and every
 * broken one is reported with the call that broke it.
 *
 * Invariants:
 * - `settles-in-time`: every call settles by its deadline plus a grace
 *   (500 ms, plus the worst event-loop lag seen in the run).
 * - `typed-rejection`: every rejection is an `IsockError` with a code.
 * - `expected-code`: the proxy never changes a byte, so the only failures
 *   it can explain are `TIMEOUT`, `CONNECTION_CLOSED`, `CONNECT_FAILED`,
 *   `ABORTED` (when the call was aborted) and, for a two-way call whose
 *   callback failed, `ACTION_FAILED`; never `PROTOCOL` or `UNAUTHORIZED`.
 * - `own-result`: a result echoes its own call id and payload.
 * - `at-most-once`: a non-idempotent handler never runs twice for one call,
 *   and a non-idempotent call that succeeded ran exactly once.
 * - `never-sent`: a call during which its client never completed a
 *   connection was never sent, so it must not fail with
 *   `CONNECTION_CLOSED` ("may or may not have run").
 * - `stream-once-in-order`: a tracked stream delivers each item once, in
 *   order, across drops, and all of them when it ends without error.
 * - `upload-complete`: an upload that succeeded was received whole.
 * - `clean-after`: once the clients are closed, the server has no
 *   connection and no running handler.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { Client, IsockError, Server } from "../../mod.ts";
import { randomBytes, seededRandom } from "../helpers.ts";
import {
  addChaosActions,
  callBack,
  echo,
  identify,
  Ledger,
  ONCE_ONLY,
  record,
  slow,
  slowOnce,
  ticks,
  upload,
  type UploadItem,
} from "./actions.ts";
import { FaultProxy } from "./fault_proxy.ts";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  /** Seeds every random choice: the calls, their options, each connection's fault. */
  seed: number;
  /** The most calls to make in all. */
  calls: number;
  /** No new call starts after this many milliseconds. */
  duration: number;
  /**
   * Clients, each with its own options.
   *
   * @default {4}
   */
  clients?: number;
  /**
   * Calls in flight at once per client.
   *
   * @default {3}
   */
  lanes?: number;
  /**
   * How late past its deadline a call may settle, in milliseconds (the
   * run's worst event-loop lag is added).
   *
   * @default {500}
   */
  grace?: number;
  /**
   * Whether the server requires a shared secret.
   *
   * @default {true for odd seeds}
   */
  secret?: boolean;
  /**
   * Whether to restart the server behind the proxy halfway through.
   *
   * @default {true}
   */
  restart?: boolean;
}

/** One broken invariant. */
export interface Violation {
  invariant: string;
  /** The call that broke it, with its options. */
  call: string;
  detail: string;
}

/** What a run did and found. */
export interface ChaosReport {
  seed: number;
  hasSecret: boolean;
  calls: number;
  /** Outcomes by action and code (`ok` for a success). */
  outcomes: Map<string, number>;
  /** Connections through the proxy, by fault. */
  faults: Map<string, number>;
  violations: Violation[];
  /** The run's worst event-loop lag, in milliseconds. */
  worstLag: number;
  /** How long each phase took (the calls, then each step of the wind-down), in milliseconds. */
  phases: Map<string, number>;
  milliseconds: number;
}

const ALLOWED_CODES = new Set([
  "TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECT_FAILED",
]);

/** Each kind of call, with how often it is drawn. */
const KINDS = [
  ["record", 20],
  ["echo", 14],
  ["slow", 14],
  ["slowOnce", 10],
  ["ticks", 18],
  ["upload", 10],
  ["callBack", 14],
] as const;
type Kind = typeof KINDS[number][0];

interface ClientSetup {
  index: number;
  client: Client;
  retry: number;
  timeout: number;
  handshakeTimeout: number;
  /** Connections this client completed so far (its `connect` events). */
  connects: number;
}

interface CallPlan {
  callId: string;
  kind: Kind;
  setup: ClientSetup;
  /** The call's deadline in milliseconds: its own timeout, or the client's. */
  deadline: number;
  /** When to abort the call, if ever. */
  abortAfter?: number;
  /** The call's data (for streams and uploads, what the source is made of). */
  data: Record<string, unknown>;
  describe: string;
}

/**
 * Runs the chaos workload once and checks the invariants.
 *
 * @example
 * ```ts ignore
 * const report = await runChaos({ seed: 1, calls: 150, duration: 6000 });
 * assert.deepStrictEqual(report.violations, []);
 * ```
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const random = seededRandom(options.seed);
  const grace = options.grace ?? 500;
  const hasSecret = options.secret ?? options.seed % 2 === 1;
  const secret = hasSecret ? `chaos-${options.seed}` : undefined;
  const ledger = new Ledger();
  const violations: Violation[] = [];
  const outcomes = new Map<string, number>();
  const lag = lagMonitor();
  const serverOptions = {
    hostname: "127.0.0.1",
    port: 0,
    heartbeatInterval: 200,
    // Longer than any call's deadline, so that a swallowed handshake is
    // bounded by the calls' deadlines rather than by the server giving up.
    handshakeTimeout: 4000,
    secret,
  };
  let server = addChaosActions(new Server(serverOptions), ledger) as Server;
  const servers = [server];
  const proxy = new FaultProxy({
    target: (await server.listen()).port,
    seed: options.seed,
  });
  const setups: ClientSetup[] = [];
  for (let index = 0; index < (options.clients ?? 4); index++) {
    const retry = 1 + Math.floor(random() * 4);
    const timeout = random() < 0.5 ? 0 : 1500 + Math.floor(random() * 1500);
    // Mostly longer than any deadline, so that deadlines bound a swallowed handshake.
    const handshakeTimeout = random() < 0.3 ? 1000 : 4000;
    const client = new Client({
      hostname: "127.0.0.1",
      port: proxy.port,
      retry,
      retryDelay: 10 + Math.floor(random() * 40),
      maxRetryDelay: 200,
      timeout,
      heartbeatInterval: 200,
      handshakeTimeout,
      secret,
    }).addAction(identify, ({ callId }) => ({ callId, client: index }));
    const setup: ClientSetup = {
      index,
      client,
      retry,
      timeout,
      handshakeTimeout,
      connects: 0,
    };
    client.addEventListener("connect", () => setup.connects++);
    setups.push(setup);
  }

  const pending = new Set<Promise<void>>();
  const restartWindow = { from: Infinity, to: Infinity };
  let issued = 0;
  const deadline = started + options.duration;
  const nextPlan = (setup: ClientSetup): CallPlan | undefined => {
    if (issued >= options.calls || performance.now() > deadline) {
      return undefined;
    }
    const callId = `s${options.seed}-c${setup.index}-${issued++}`;
    return plan(random, callId, setup);
  };
  const runCall = async (call: CallPlan) => {
    const outcome = await settle(call, ledger, grace, lag);
    const key = `${call.kind} ${outcome.code}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const isInRestart = outcome.startedAt <= restartWindow.to &&
      outcome.settledAt >= restartWindow.from;
    for (const violation of outcome.violations) {
      if (violation.invariant === "never-sent" && isInRestart) continue;
      violations.push(violation);
    }
  };
  const lane = async (setup: ClientSetup) => {
    for (let call = nextPlan(setup); call; call = nextPlan(setup)) {
      const running = runCall(call);
      pending.add(running);
      await running;
      pending.delete(running);
    }
  };
  const restart = async () => {
    await pause(options.duration / 2);
    restartWindow.from = performance.now();
    const next = addChaosActions(new Server(serverOptions), ledger) as Server;
    servers.push(next);
    proxy.target = (await next.listen()).port;
    const previous = server;
    server = next;
    await previous.shutdown({ timeout: 300 });
    restartWindow.to = performance.now() + 200;
  };

  const phases = new Map<string, number>();
  // Each step of the wind-down should be quick; a slow one is a finding.
  const step = async (
    name: string,
    limit: number,
    work: () => Promise<unknown>,
  ) => {
    const from = performance.now();
    await work();
    const took = Math.round(performance.now() - from);
    phases.set(name, took);
    if (took > limit) {
      violations.push({
        invariant: "clean-after",
        call: "(after the run)",
        detail: `${name} took ${took} ms (expected under ${limit} ms)`,
      });
    }
  };
  try {
    const lanes = setups.flatMap((setup) =>
      Array.from({ length: options.lanes ?? 3 }, () => lane(setup))
    );
    await Promise.all([
      ...lanes,
      options.restart === false ? Promise.resolve() : restart(),
    ]);
    phases.set("calls", Math.round(performance.now() - started));
  } finally {
    await step(
      "closing the clients",
      2000,
      () => Promise.all(setups.map(({ client }) => client.close())),
    );
    await step("settling the calls", 2000, () => Promise.all(pending));
    await step("closing the proxy", 2000, () => proxy[Symbol.asyncDispose]());
  }

  // Closed clients leave nothing on the server (the proxy closed its sockets too).
  await step("the server letting go", 3000, async () => {
    const cleanBy = performance.now() + 3000;
    while (
      (ledger.running > 0 || servers.some((s) => s.connectionCount > 0)) &&
      performance.now() < cleanBy
    ) {
      await pause(20);
    }
  });
  const connections = servers.reduce((sum, s) => sum + s.connectionCount, 0);
  if (ledger.running > 0 || connections > 0) {
    violations.push({
      invariant: "clean-after",
      call: "(after the run)",
      detail:
        `3 s after every client closed: ${connections} connection(s), ${ledger.running} handler(s) running`,
    });
  }
  await step(
    "shutting the servers down",
    2000,
    () => Promise.all(servers.map((s) => s.shutdown({ timeout: 100 }))),
  );
  lag.stop();
  return {
    seed: options.seed,
    hasSecret,
    calls: issued,
    outcomes,
    faults: new Map(proxy.faultCounts),
    violations,
    worstLag: lag.worst,
    phases,
    milliseconds: Math.round(performance.now() - started),
  };
}

/** Draws one call: its kind, data and options. */
function plan(
  random: () => number,
  callId: string,
  setup: ClientSetup,
): CallPlan {
  const total = KINDS.reduce((sum, [, weight]) => sum + weight, 0);
  let pick = random() * total;
  let kind: Kind = "record";
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
  kind: Kind,
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

interface Settled {
  code: string;
  startedAt: number;
  settledAt: number;
  violations: Violation[];
}

/** Makes one call, waits for it (bounded), and checks its invariants. */
async function settle(
  call: CallPlan,
  ledger: Ledger,
  grace: number,
  lag: LagMonitor,
): Promise<Settled> {
  const { setup, callId } = call;
  const { data } = call;
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
  const running = (async (): Promise<unknown> => {
    const { client } = setup;
    const own = call.deadline === setup.timeout
      ? {}
      : { timeout: call.deadline };
    switch (call.kind) {
      case "record":
        return await client.runAction(record, data as never, own);
      case "echo":
        return await client.runAction(echo, data as never, own);
      case "slow":
        return await client.runAction(slow, data as never, {
          ...own,
          signal: controller.signal,
        });
      case "slowOnce":
        return await client.runAction(slowOnce, data as never, {
          ...own,
          signal: controller.signal,
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
            sentBytes += sizes[seq];
            yield { callId, seq, bytes: new Uint8Array(sizes[seq]) };
          }
        };
        return await client.runAction(upload, source(), own);
      }
      case "callBack":
        return await client.runAction(callBack, data as never, own);
    }
  })();
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
  const settledAt = performance.now();
  const elapsed = Math.round(settledAt - startedAt);

  if (outcome.status === "pending") {
    fail("settles-in-time", `still pending ${hardLimit} ms after it started`);
    // Closing the client settles it; the run waits for that.
    await running.catch(() => {});
    return { code: "PENDING", startedAt, settledAt, violations };
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
  const runs = ledger.runs(callId);
  if (ONCE_ONLY.has(`chaos.${call.kind}`) && runs > 1) {
    fail("at-most-once", `the handler ran ${runs} times`);
  }

  let code = "ok";
  if (outcome.status === "rejected") {
    const error = outcome.reason;
    if (!(error instanceof IsockError) || typeof error.code !== "string") {
      fail("typed-rejection", `rejected with ${inspect(error)}`);
      code = "UNTYPED";
    } else {
      code = error.code;
      const isAllowed = ALLOWED_CODES.has(code) ||
        (code === "ABORTED" && controller.signal.aborted) ||
        // An upload cut after some of its input went cannot be replayed.
        (code === "NOT_RESENDABLE" && call.kind === "upload") ||
        (code === "ACTION_FAILED" && call.kind === "callBack");
      if (!isAllowed) {
        fail(
          "expected-code",
          `rejected ${code} after ${elapsed} ms: ${error.message}`,
        );
      }
      const hasConnected = wasConnected || setup.connects > connectsBefore;
      if (code === "CONNECTION_CLOSED" && !hasConnected) {
        fail(
          "never-sent",
          `rejected CONNECTION_CLOSED after ${elapsed} ms though its client completed no connection during the call (never sent): ${error.message}`,
        );
      }
    }
    if (call.kind === "ticks") checkTicks(items, data, false, fail);
    return { code, startedAt, settledAt, violations };
  }

  const value = outcome.value as Record<string, unknown>;
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
        answer?.client !== setup.index
      ) {
        fail("own-result", `resolved ${inspect(value)}`);
      }
      break;
    }
    case "ticks":
      checkTicks(items, data, true, fail);
      break;
    case "upload": {
      const expected = (data.items as number[]).reduce((a, b) => a + b, 0);
      if (
        value?.callId !== callId || value.isMixed !== false ||
        value.bytes !== expected ||
        value.items !== (data.items as number[]).length
      ) {
        fail(
          "upload-complete",
          `resolved ${inspect(value)} for ${expected} bytes in ${
            (data.items as number[]).length
          } items (the source yielded ${sentBytes} bytes in all)`,
        );
      }
      break;
    }
  }
  if (ONCE_ONLY.has(`chaos.${call.kind}`) && runs !== 1) {
    fail("at-most-once", `succeeded, but the handler ran ${runs} times`);
  }
  return { code, startedAt, settledAt, violations };
}

/** Items 1, 2, 3… each once, for this call; all of them when the stream ended well. */
function checkTicks(
  items: unknown[],
  data: Record<string, unknown>,
  isComplete: boolean,
  fail: (invariant: string, detail: string) => void,
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

function describeOutcome(
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

/** Resolves after `milliseconds`. */
function pause(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

interface LagMonitor {
  /** The worst delay of a 25 ms timer so far, in milliseconds. */
  readonly worst: number;
  stop(): void;
}

/** Measures how late timers fire: a busy machine delays everything, fixed library or not. */
function lagMonitor(): LagMonitor {
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

/** A one-paragraph summary of a report, for logs. */
export function summarize(report: ChaosReport): string {
  const outcomes = [...report.outcomes].sort().map(([key, n]) => `${key}: ${n}`)
    .join(", ");
  const faults = [...report.faults].sort().map(([key, n]) => `${key} ${n}`)
    .join(", ");
  return `seed ${report.seed}${
    report.hasSecret ? " (secret)" : ""
  }: ${report.calls} calls in ${report.milliseconds} ms, worst lag ${
    Math.round(report.worstLag)
  } ms (${
    [...report.phases].map(([phase, ms]) => `${phase} ${ms} ms`).join(", ")
  }); outcomes ${outcomes}; connections by fault: ${faults}; ${report.violations.length} violation(s)`;
}
