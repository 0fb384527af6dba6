/**
 * The chaos workload: a server, a {@linkcode FaultProxy} in front of it,
 * and a few clients making a bounded, seeded mix of calls through it —
 * non-idempotent and idempotent calls, slow calls that honour their
 * signal, tracked streams, uploads and two-way calls, with `retry`,
 * timeouts and (on odd seeds) a shared secret. Halfway through, the server
 * is restarted behind the proxy. Then the invariants are checked, and every
 * broken one is reported with the call that broke it.
 *
 * The invariants are listed, and checked per call, in `invariants.ts`;
 * `calls.ts` draws and makes each call.
 *
 * @module
 */

import { Client, Server } from "../../mod.ts";
import { seededRandom } from "../helpers.ts";
import { addChaosActions, identify, Ledger } from "./actions.ts";
import {
  type CallPlan,
  type ClientSetup,
  lagMonitor,
  plan,
  settle,
} from "./calls.ts";
import { DEFAULT_FAULT_WEIGHTS, FaultProxy } from "../fault_proxy.ts";
import type { Violation } from "./invariants.ts";

export type { Violation } from "./invariants.ts";

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
    weights: DEFAULT_FAULT_WEIGHTS,
    hasLifetimes: true,
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
    violations.push(...outcome.violations);
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
    const next = addChaosActions(new Server(serverOptions), ledger) as Server;
    servers.push(next);
    proxy.target = (await next.listen()).port;
    const previous = server;
    server = next;
    await previous.shutdown({ timeout: 300 });
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

/** Resolves after `milliseconds`. */
function pause(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
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
