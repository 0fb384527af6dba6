/**
 * The soak run (not part of CI): minutes of mixed load on one server, with
 * faults injected all along, and the server's memory sampled from start to
 * end (growth would mean a leak); alongside, round after round of the chaos
 * workload of `tests/chaos_test.ts` (a fault-injecting proxy, invariants
 * checked after each round), one seed per round, larger than in the tests.
 *
 *     deno run --allow-net --allow-run --allow-read bench/soak.ts [--seconds 180] [--rounds 1000] [--seed 1]
 *
 * It stops by itself: no new chaos round starts when fewer than 15 s are
 * left or `--rounds` have run, then it prints a summary, and exits with 1
 * when an invariant broke (each broken one is printed with its seed; replay
 * a seed with `ISOCK_CHAOS_SEED`, see `tests/chaos_test.ts`).
 *
 * The server of the memory soak runs in its own process (with
 * `--expose-gc`, so that every sample is taken after a full collection);
 * this process drives the load and runs the chaos rounds.
 *
 * @module
 */

import { action, Client, ClientError, RemoteError, Server } from "../mod.ts";
import { concat } from "../src/base/bytes.ts";
import { MessageCodec } from "../src/protocol/message_codec.ts";
import { PROTOCOL_VERSION } from "../src/protocol/message_type.ts";
import { outgoing } from "../src/protocol/message_table.ts";
import { FrameEncoderStream } from "../src/wire/framing.ts";
import {
  type ChaosReport,
  runChaos,
  summarize,
} from "../tests/chaos/workload.ts";

const args = Deno.args;
/** The value after `--name`, as a number. */
function numberArg(name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  const value = at < 0 ? NaN : Number(args[at + 1]);
  return Number.isFinite(value) ? value : fallback;
}
const seconds = numberArg("seconds", 180);
const maxRounds = numberArg("rounds", 1000);
const firstSeed = numberArg("seed", 1);
const deadline = Date.now() + seconds * 1000;
/** A chaos round: calls, and how long new calls start. */
const ROUND = { calls: 500, duration: 10_000 };

/** The server process, or this file run with `--serve`. */
if (args.includes("--serve")) {
  await serve();
} else {
  await drive();
}

async function serve(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const server: Server = new Server({
    port: 0,
    maxConnections: 2000,
    maxInFlight: 200,
    handshakeTimeout: 1000,
    heartbeatInterval: 1000,
    idleTimeout: 10_000,
  })
    .addAction(action("echo", (data: unknown) => data))
    .addAction(action("fail", (message: string) => {
      throw new TypeError(message);
    }))
    .addAction(
      action("slow", (ms: number, context) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve(ms), ms);
          context.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(context.signal.reason);
          });
        })),
    )
    .addAction(action("memory", (): Omit<Sample, "second"> => {
      gc?.();
      const { rss, heapUsed } = Deno.memoryUsage();
      return { rss, heapUsed, connections: server.connectionCount };
    }));
  const { port } = await server.listen();
  console.log(JSON.stringify({ port }));
  for await (const _ of Deno.stdin.readable) {
    // Serve until the driver closes stdin.
  }
  await server.shutdown({ timeout: 1000 });
}

interface Sample {
  second: number;
  rss: number;
  heapUsed: number;
  connections: number;
}

async function drive(): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--serve",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { port } = JSON.parse((await lines.read()).value!);
  const outcomes = new Map<string, number>();
  const count = (outcome: string) =>
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  const monitor = new Client({ port });
  const samples: Sample[] = [];
  const chaos: ChaosReport[] = [];
  const started = Date.now();
  const sample = async () => {
    const memory = await monitor.runAction("memory") as Omit<Sample, "second">;
    samples.push({
      second: Math.round((Date.now() - started) / 1000),
      ...memory,
    });
  };
  try {
    await sample();
    const workers = [
      chaosRounds().then((reports) => chaos.push(...reports)),
      ...Array.from({ length: 8 }, () => goodClient(port, count)),
      faultInjector(port, count),
      (async () => {
        while (Date.now() < deadline) {
          await delay(Math.min(10_000, Math.max(0, deadline - Date.now())));
          await sample();
        }
      })(),
    ];
    await Promise.all(workers);
    await delay(12_000); // Idle connections time out; heartbeats clear the dead.
    await sample();
  } finally {
    await monitor.close();
    await child.stdin.close();
    await child.status;
    await lines.cancel();
  }
  report(samples, outcomes);
  reportChaos(chaos);
}

/** Chaos rounds, one seed each, until the time or the count runs out. */
async function chaosRounds(): Promise<ChaosReport[]> {
  const reports: ChaosReport[] = [];
  for (
    let round = 0;
    round < maxRounds && deadline - Date.now() > ROUND.duration + 5000;
    round++
  ) {
    const report = await runChaos({ seed: firstSeed + round, ...ROUND });
    console.log(`chaos ${summarize(report)}`);
    reports.push(report);
  }
  return reports;
}

function reportChaos(reports: ChaosReport[]): void {
  const calls = reports.reduce((sum, report) => sum + report.calls, 0);
  const broken = new Map<string, number[]>();
  for (const report of reports) {
    for (const { invariant } of report.violations) {
      const seeds = broken.get(invariant) ?? [];
      if (!seeds.includes(report.seed)) seeds.push(report.seed);
      broken.set(invariant, seeds);
    }
  }
  console.log(
    `\nchaos: ${reports.length} round(s), seeds ${firstSeed}–${
      firstSeed + reports.length - 1
    }, ${calls} calls`,
  );
  if (broken.size === 0) {
    console.log("chaos: every invariant held");
    return;
  }
  for (const [invariant, seeds] of [...broken].sort()) {
    console.log(`  BROKEN ${invariant.padEnd(22)} seeds ${seeds.join(", ")}`);
  }
  for (const report of reports) {
    for (const { invariant, call, detail } of report.violations.slice(0, 5)) {
      console.log(`  seed ${report.seed} [${invariant}] ${call}: ${detail}`);
    }
  }
  Deno.exitCode = 1;
}

/** Mixed calls: small and 64 KiB echoes, errors, slow calls cut by timeouts and aborts. */
async function goodClient(
  port: number,
  count: (outcome: string) => void,
): Promise<void> {
  const blob = new Uint8Array(64 * 1024).fill(7);
  while (Date.now() < deadline) {
    await using client = new Client({ port, retry: 5, retryDelay: 20 });
    for (let i = 0; i < 500 && Date.now() < deadline; i++) {
      const controller = new AbortController();
      const calls = [
        client.runAction("echo", { i, tags: ["a", "b"], at: new Date() }),
        client.runAction("echo", blob),
        client.runAction("fail", "expected"),
        client.runAction("slow", 50, { timeout: 10 }),
        client.runAction("slow", 50, { signal: controller.signal }),
      ];
      controller.abort();
      for (const outcome of await Promise.allSettled(calls)) {
        count(describe(outcome));
      }
    }
  }
}

function describe(outcome: PromiseSettledResult<unknown>): string {
  if (outcome.status === "fulfilled") return "ok";
  const error = outcome.reason;
  if (error instanceof RemoteError || error instanceof ClientError) {
    return error.code;
  }
  return `unexpected: ${error}`;
}

/** Bad peers, one after another: garbage, huge lengths, silence, vanishing mid-call, slowloris. */
async function faultInjector(
  port: number,
  count: (outcome: string) => void,
): Promise<void> {
  const codec = new MessageCodec([]);
  const frame = (body: Uint8Array) =>
    concat(new FrameEncoderStream().encode(body));
  const hello = frame(codec.encodeHello({
    version: PROTOCOL_VERSION,
    maxFrameSize: 1 << 20,
    nonce: new Uint8Array(32),
    authRequired: false,
  }));
  const request = frame(
    concat(codec.encode(outgoing.request(1, "slow", 60_000))),
  );
  const faults: [string, Uint8Array, number][] = [
    ["garbage", crypto.getRandomValues(new Uint8Array(512)), 0],
    ["huge length", new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0],
    ["silent", new Uint8Array(0), 1500],
    ["vanished mid-call", concat([hello, request]), 0],
    ["slowloris", hello.subarray(0, 3), 1500],
  ];
  for (let round = 0; Date.now() < deadline; round++) {
    const [name, bytes, hold] = faults[round % faults.length];
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      if (bytes.length > 0) await conn.write(bytes);
      await delay(hold);
      conn.close();
      count(`fault: ${name}`);
    } catch {
      count(`fault refused: ${name}`);
    }
    await delay(20);
  }
}

function report(samples: Sample[], outcomes: Map<string, number>): void {
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(`soak: ${seconds} s of mixed load with faults\n`);
  console.log("second  rss MiB  heap MiB  connections");
  for (const s of samples) {
    console.log(
      `${String(s.second).padStart(6)}  ${mib(s.rss).padStart(7)}  ${
        mib(s.heapUsed).padStart(8)
      }  ${String(s.connections).padStart(11)}`,
    );
  }
  console.log("\noutcomes:");
  for (const [outcome, n] of [...outcomes].sort()) {
    console.log(`  ${outcome.padEnd(28)} ${n}`);
  }
  const [first, last] = [samples[0], samples.at(-1)!];
  const peak = samples.reduce((max, s) => Math.max(max, s.rss), 0);
  console.log(
    `\nrss: ${mib(first.rss)} MiB at start, ${mib(peak)} MiB at peak, ${
      mib(last.rss)
    } MiB at end; heap ${mib(first.heapUsed)} → ${
      mib(last.heapUsed)
    } MiB; connections at end: ${last.connections} (the monitor)`,
  );
  if ([...outcomes.keys()].some((key) => key.startsWith("unexpected"))) {
    console.log("UNEXPECTED OUTCOMES: see above");
    Deno.exitCode = 1;
  }
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
