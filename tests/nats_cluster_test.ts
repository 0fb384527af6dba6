/**
 * Many servers on one NATS service, each its own process
 * (tests/fixtures/nats_worker.ts), and one client: how calls spread, what
 * the callers see when a server dies (`kill -9`) or freezes (`SIGSTOP`),
 * when no server is there or the nats-server restarts, and what the NATS
 * micro discovery requests say about the servers. Every process a test
 * starts, it stops; every load loop is bounded in calls and in time.
 */

import { connect } from "@nats-io/transport-node";
import assert from "node:assert/strict";
import { action, Client, ClientError, IsockError } from "../mod.ts";
import { listInstances, natsTransport } from "../nats.ts";
import { gatherRaw } from "./fixtures/nats_discovery_bus.ts";
import { type NatsServer, startNatsServer } from "./fixtures/nats_server.ts";
import type { Counters, Done, Job } from "./fixtures/nats_worker.ts";
import { root } from "./processes.ts";

const work = action<Job, Done>("work");
const workIdempotent = action<Job, Done>("work_idempotent", {
  idempotent: true,
});
const counters = action<undefined, Counters>("counters", { idempotent: true });

/** How long a worker may take to start (the first run compiles). */
const START_TIMEOUT_MS = 60_000;
/** How late past its own deadline a call may settle and still count as on time. */
const DEADLINE_MARGIN_MS = 1_500;

/** A worker process. */
class Worker implements AsyncDisposable {
  readonly name: string;
  /** The ids of the non-idempotent calls it started, in order. */
  readonly ran: string[] = [];
  readonly ready: Promise<void>;
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<void>;
  #stderr = "";
  #isStopped = false;

  constructor(servers: string, service: string, name: string) {
    this.name = name;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "tests/fixtures/nats_worker.ts",
        servers,
        service,
        name,
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const ready = Promise.withResolvers<void>();
    this.ready = ready.promise;
    const readStdout = async () => {
      let buffered = "";
      for await (
        const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = JSON.parse(buffered.slice(0, newline)) as {
            ready?: string;
            ran?: string;
          };
          buffered = buffered.slice(newline + 1);
          if (line.ready !== undefined) ready.resolve();
          if (line.ran !== undefined) this.ran.push(line.ran);
        }
      }
      ready.reject(
        new Error(`worker ${name} exited before it was ready: ${this.#stderr}`),
      );
    };
    const readStderr = async () => {
      for await (
        const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())
      ) this.#stderr = (this.#stderr + chunk).slice(-8192);
    };
    this.#output = Promise.all([readStdout(), readStderr()]).then(() => {});
    // A failed start is reported by whoever awaits `ready`.
    this.ready.catch(() => {});
  }

  /** Sends it a signal (SIGKILL, SIGSTOP, SIGCONT). */
  signal(signal: Deno.Signal): void {
    if (signal === "SIGSTOP") this.#isStopped = true;
    if (signal === "SIGCONT") this.#isStopped = false;
    this.#child.kill(signal);
  }

  /** Stops it: ends its stdin, and kills it if it has not exited within 5 s. */
  async stop(): Promise<void> {
    try {
      if (this.#isStopped) this.signal("SIGCONT");
    } catch {
      // Already gone.
    }
    await this.#child.stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#output;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Starts workers and waits until each serves; stops them all on a failure. */
async function startWorkers(
  nats: NatsServer,
  service: string,
  names: readonly string[],
): Promise<Worker[]> {
  const workers = names.map((name) => new Worker(nats.hostPort, service, name));
  try {
    await withTimeout(
      Promise.all(workers.map((worker) => worker.ready)),
      START_TIMEOUT_MS,
      "the workers to start",
    );
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.stop()));
    throw error;
  }
  return workers;
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A client of a service on the bus, and what closes both. */
function busClient(nats: NatsServer, service: string, timeout = 5_000) {
  const bus = natsTransport({ servers: nats.hostPort, service });
  const client = new Client({ transport: bus, timeout });
  return {
    bus,
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await bus.close();
    },
  };
}

/** A worker's counters, asked on its own service. */
async function countersOf(
  nats: NatsServer,
  service: string,
  worker: Worker,
): Promise<Counters> {
  await using own = busClient(nats, `${service}-${worker.name}`);
  return await own.client.runAction(counters, undefined);
}

/** One call of a load run: what it was, how it ended, how long it took. */
interface CallOutcome {
  readonly id: string;
  readonly isIdempotent: boolean;
  readonly timeout: number;
  readonly startedAt: number;
  readonly elapsed: number;
  readonly result?: Done;
  readonly error?: unknown;
}

interface LoadPlan {
  readonly calls: number;
  readonly concurrency: number;
  /** The most milliseconds to keep starting calls. */
  readonly maxMs: number;
  /** The call for an index. */
  readonly call: (index: number) => {
    readonly isIdempotent: boolean;
    readonly ms: number;
    readonly timeout: number;
  };
  /** Called after each call settles, with the number settled so far. */
  readonly onSettled?: (settled: number) => void;
}

/** Makes calls, `concurrency` at a time, until `calls` are made or `maxMs` passed. */
async function runLoad(
  client: Client,
  prefix: string,
  plan: LoadPlan,
): Promise<CallOutcome[]> {
  const outcomes: CallOutcome[] = [];
  const stopAt = performance.now() + plan.maxMs;
  let next = 0;
  const lane = async () => {
    while (next < plan.calls && performance.now() < stopAt) {
      const index = next++;
      const { isIdempotent, ms, timeout } = plan.call(index);
      const id = `${prefix}-${index}`;
      const startedAt = performance.now();
      try {
        const result = await client.runAction(
          isIdempotent ? workIdempotent : work,
          { id, ms },
          { timeout },
        );
        outcomes.push({
          id,
          isIdempotent,
          timeout,
          startedAt,
          elapsed: performance.now() - startedAt,
          result,
        });
      } catch (error) {
        outcomes.push({
          id,
          isIdempotent,
          timeout,
          startedAt,
          elapsed: performance.now() - startedAt,
          error,
        });
      }
      plan.onSettled?.(outcomes.length);
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
  return outcomes;
}

/** Fails on calls that settled past their own deadline (with a margin). */
function assertOnTime(outcomes: readonly CallOutcome[]): void {
  const late = outcomes.filter(({ elapsed, timeout }) =>
    elapsed > timeout + DEADLINE_MARGIN_MS
  );
  assert.deepEqual(
    late.map(({ id, elapsed, timeout }) =>
      `${id}: ${elapsed.toFixed(0)} ms, timeout ${timeout} ms`
    ),
    [],
    "calls that waited past their deadline",
  );
}

/** Fails on errors that are not isock's typed errors. */
function assertTyped(outcomes: readonly CallOutcome[]): void {
  const untyped = outcomes.filter(({ error }) =>
    error !== undefined && !(error instanceof IsockError)
  );
  assert.deepEqual(untyped.map(({ error }) => String(error)), []);
}

/** Every id that started more than once, over all workers' logs. */
function ranTwice(workers: readonly Worker[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const worker of workers) {
    for (const id of worker.ran) {
      if (seen.has(id)) twice.add(id);
      seen.add(id);
    }
  }
  return [...twice];
}

const NAMES = ["w1", "w2", "w3"] as const;

Deno.test("nats cluster: three servers share 3,000 calls, and discovery lists all three", async () => {
  await using nats = await startNatsServer();
  const service = "spread";
  const workers = await startWorkers(nats, service, NAMES);
  try {
    await using caller = busClient(nats, service);
    const outcomes = await runLoad(caller.client, "spread", {
      calls: 3_000,
      concurrency: 32,
      maxMs: 60_000,
      call: () => ({ isIdempotent: false, ms: 0, timeout: 10_000 }),
    });
    assert.equal(outcomes.length, 3_000);
    assert.deepEqual(
      outcomes.filter(({ error }) => error !== undefined).map(({ error }) =>
        String(error)
      ),
      [],
    );
    const byWorker = new Map<string, number>();
    for (const { result } of outcomes) {
      byWorker.set(result!.worker, (byWorker.get(result!.worker) ?? 0) + 1);
    }
    for (const worker of workers) {
      const { calls } = await countersOf(nats, service, worker);
      assert.equal(calls.work, byWorker.get(worker.name), worker.name);
      assert.ok(calls.work > 600, `${worker.name} took ${calls.work} of 3000`);
    }
    assert.deepEqual(ranTwice(workers), []);

    // Standard NATS tooling's view: a raw nats.js connection.
    const nc = await connect({ servers: nats.hostPort });
    try {
      const pings = (await gatherRaw(nc, "$SRV.PING", 1_000))
        .filter(({ name }) => name === service);
      assert.equal(pings.length, 3);
      assert.equal(new Set(pings.map(({ id }) => id)).size, 3);
      for (const ping of pings) {
        assert.equal(ping.type, "io.nats.micro.v1.ping_response");
        assert.equal(typeof ping.id, "string");
        assert.equal(typeof ping.version, "string");
      }

      const infos = await gatherRaw(nc, `$SRV.INFO.${service}`, 1_000);
      assert.equal(infos.length, 3);
      for (const info of infos) {
        assert.equal(info.type, "io.nats.micro.v1.info_response");
        assert.equal(info.name, service);
        assert.equal(typeof info.description, "string");
        const endpoints = info.endpoints as Record<string, unknown>[];
        assert.deepEqual(
          endpoints.map(({ name }) => name).sort(),
          ["counters", "work", "work_idempotent"],
        );
        for (const endpoint of endpoints) {
          assert.equal(typeof endpoint.subject, "string");
          assert.equal(typeof endpoint.queue_group, "string");
          const metadata = endpoint.metadata as Record<string, unknown>;
          for (const value of Object.values(metadata)) {
            assert.equal(typeof value, "string");
          }
          assert.equal(
            metadata.idempotent,
            String(endpoint.name !== "work"),
          );
        }
      }

      // The numbers settle as the last answers go out: asked until they
      // add up, a bounded number of times.
      let stats: Record<string, unknown>[] = [];
      let workRequests = 0;
      for (let attempt = 0; attempt < 10 && workRequests !== 3_000; attempt++) {
        stats = await gatherRaw(nc, `$SRV.STATS.${service}`, 500);
        workRequests = 0;
        for (const answer of stats) {
          for (
            const endpoint of answer.endpoints as Record<string, unknown>[]
          ) {
            if (endpoint.name === "work") {
              workRequests += endpoint.num_requests as number;
            }
          }
        }
      }
      assert.equal(stats.length, 3);
      assert.equal(workRequests, 3_000);
      for (const answer of stats) {
        assert.equal(answer.type, "io.nats.micro.v1.stats_response");
        assert.ok(!Number.isNaN(Date.parse(answer.started as string)));
        for (const endpoint of answer.endpoints as Record<string, unknown>[]) {
          for (
            const field of [
              "num_requests",
              "num_errors",
              "processing_time",
              "average_processing_time",
            ]
          ) {
            assert.ok(
              Number.isInteger(endpoint[field]),
              `${field}: ${endpoint[field]}`,
            );
          }
          assert.equal(typeof endpoint.last_error, "string");
        }
      }
    } finally {
      await nc.close();
    }

    // What a user asks: the public listInstances on a bus of its own.
    const lister = natsTransport({ servers: nats.hostPort, service });
    const instances = await listInstances(lister).finally(() => lister.close());
    assert.deepEqual(
      instances.map(({ id }) => id).sort(),
      [...new Set(instances.map(({ id }) => id))].sort(),
    );
    assert.equal(instances.length, 3);
    let total = 0;
    for (const { stats } of instances) {
      total += stats?.actions.find(({ name }) => name === "work")?.calls ?? 0;
    }
    assert.equal(total, 3_000);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});

Deno.test("nats cluster: kill -9 one server under load: idempotent calls all succeed, none waits past its deadline, none runs twice", async () => {
  await using nats = await startNatsServer();
  const service = "killed";
  const workers = await startWorkers(nats, service, NAMES);
  const [, victim] = workers;
  try {
    await using caller = busClient(nats, service);
    let killedAt = Infinity;
    const outcomes = await runLoad(caller.client, "kill", {
      calls: 1_200,
      concurrency: 24,
      maxMs: 45_000,
      // Every other call idempotent; each takes a few milliseconds, so
      // that some are running on the victim when it dies.
      call: (index) => ({
        isIdempotent: index % 2 === 0,
        ms: 5 + (index % 4) * 5,
        // Room for the silence to be noticed (3 heartbeats of 1 s) and the
        // idempotent calls to run again elsewhere.
        timeout: 8_000,
      }),
      onSettled: (settled) => {
        if (settled === 300) {
          killedAt = performance.now();
          victim.signal("SIGKILL");
        }
      },
    });
    assert.equal(outcomes.length, 1_200);
    assert.ok(killedAt < Infinity, "the victim was killed");
    assertOnTime(outcomes);
    assertTyped(outcomes);
    const failedIdempotent = outcomes.filter(({ isIdempotent, error }) =>
      isIdempotent && error !== undefined
    );
    assert.deepEqual(
      failedIdempotent.map(({ id, error }) => `${id}: ${error}`),
      [],
      "idempotent calls that failed",
    );
    // The others went on: most calls started after the kill succeeded.
    const after = outcomes.filter(({ startedAt }) => startedAt > killedAt);
    const afterOk = after.filter(({ error }) => error === undefined);
    assert.ok(
      afterOk.length > after.length * 0.9,
      `${afterOk.length} of ${after.length} calls after the kill succeeded`,
    );
    assert.ok(
      !afterOk.some(({ startedAt, result }) =>
        startedAt > killedAt + 2_000 && result!.worker === victim.name
      ),
      "a call answered by the dead server",
    );
    // Each non-idempotent id started at most once, over all three logs
    // (the victim's included, up to its death).
    assert.deepEqual(ranTwice(workers), []);
    for (const worker of workers.filter((worker) => worker !== victim)) {
      const { calls } = await countersOf(nats, service, worker);
      assert.equal(calls.work, worker.ran.length, worker.name);
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});

Deno.test("nats cluster: SIGSTOP one server: its calls fail by their deadline, the others' succeed; after SIGCONT it serves again", async () => {
  await using nats = await startNatsServer();
  const service = "frozen";
  const workers = await startWorkers(nats, service, NAMES);
  const [, frozen] = workers;
  try {
    await using caller = busClient(nats, service);
    const timeout = 2_000;
    frozen.signal("SIGSTOP");
    const outcomes = await runLoad(caller.client, "stop", {
      calls: 150,
      concurrency: 30,
      maxMs: 30_000,
      call: () => ({ isIdempotent: false, ms: 0, timeout }),
    });
    assert.equal(outcomes.length, 150);
    assertOnTime(outcomes);
    assertTyped(outcomes);
    const failed = outcomes.filter(({ error }) => error !== undefined);
    const succeeded = outcomes.filter(({ error }) => error === undefined);
    // About a third went to the frozen one; the queue group spreads at random.
    assert.ok(failed.length > 0, "no call reached the frozen server");
    assert.ok(
      succeeded.length > 150 / 3,
      `only ${succeeded.length} of 150 succeeded`,
    );
    for (const { error } of failed) {
      assert.ok(error instanceof ClientError, String(error));
    }
    // Those that reached a live server did not wait for the frozen one.
    assert.ok(
      succeeded.every(({ elapsed, result }) =>
        elapsed < timeout && result!.worker !== frozen.name
      ),
    );

    frozen.signal("SIGCONT");
    // It serves again: its own counters answer, and it takes its share.
    const before = await withTimeout(
      countersOf(nats, service, frozen),
      15_000,
      "the thawed worker's counters",
    );
    const again = await runLoad(caller.client, "thawed", {
      calls: 300,
      concurrency: 16,
      maxMs: 30_000,
      call: () => ({ isIdempotent: false, ms: 0, timeout: 5_000 }),
    });
    assert.equal(again.length, 300);
    assertOnTime(again);
    assert.deepEqual(
      again.filter(({ error }) => error !== undefined).map(({ error }) =>
        String(error)
      ),
      [],
    );
    const after = await countersOf(nats, service, frozen);
    assert.ok(
      after.calls.work > before.calls.work,
      `the thawed worker took no calls (${before.calls.work} → ${after.calls.work})`,
    );
    assert.ok(again.some(({ result }) => result!.worker === frozen.name));
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});

Deno.test("nats cluster: no server → UNAVAILABLE well before the timeout; a restarted nats-server → calls resume", async () => {
  await using nats = await startNatsServer();
  const service = "restart";
  const timeout = 5_000;
  await using caller = busClient(nats, service, timeout);
  // No server yet: the first call also connects; the second is timed.
  await assert.rejects(
    caller.client.runAction(work, { id: "none-0" }),
    (error: unknown) =>
      error instanceof ClientError && error.code === "UNAVAILABLE",
  );
  const started = performance.now();
  await assert.rejects(
    caller.client.runAction(work, { id: "none-1" }),
    (error: unknown) =>
      error instanceof ClientError && error.code === "UNAVAILABLE",
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < timeout / 10, `UNAVAILABLE after ${elapsed} ms`);

  const workers = await startWorkers(nats, service, ["w1"]);
  try {
    assert.equal(
      (await caller.client.runAction(work, { id: "up-0" })).worker,
      "w1",
    );
    await nats.restart();
    // Both the worker's and the client's connections come back on their
    // own; calls fail (typed) until then, and succeed after.
    const resumeBy = performance.now() + 30_000;
    let resumed: Done | undefined;
    for (let attempt = 0; resumed === undefined; attempt++) {
      assert.ok(
        performance.now() < resumeBy && attempt < 300,
        "calls did not resume within 30 s of the restart",
      );
      try {
        resumed = await caller.client.runAction(
          workIdempotent,
          { id: `again-${attempt}` },
          { timeout: 1_000 },
        );
      } catch (error) {
        assert.ok(error instanceof IsockError, String(error));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.equal(resumed.worker, "w1");
    const outcomes = await runLoad(caller.client, "after", {
      calls: 100,
      concurrency: 8,
      maxMs: 20_000,
      call: () => ({ isIdempotent: false, ms: 0, timeout: 5_000 }),
    });
    assert.equal(outcomes.filter(({ error }) => error !== undefined).length, 0);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
});
