/**
 * The server that `bench/attacks.ts` attacks, in a process of its own so
 * that its memory and open files can be read from outside
 * (`/proc/<pid>/status`, `/proc/<pid>/fd`) and a blocked event loop shows
 * as a good client's latency. Three servers with default options: plain
 * TCP, with a shared secret (for attacks before authentication), and TLS
 * (the test certificate). Prints their ports as one line of JSON, then
 * serves until SIGTERM, when it shuts them down and lets the process end
 * by itself: whatever an attack left running keeps it alive, and the bench
 * sees that as a slow exit.
 *
 * Actions: `echo`; `sink`, which takes any data and answers little; `busy`, a generator that yields without I/O; `ticks`, a
 * generator that waits 1 ms between items; `slow`, a handler that waits
 * for its signal; `upload`, which reads an input stream; and `stats`, the
 * counters of each (started, and how many got to their end), so the bench
 * can count what an attack left running.
 *
 * @module
 */

import { action, Server } from "../mod.ts";

/** What `stats` returns. */
export interface AttackServerStats {
  busy: { started: number; finished: number; pulled: number };
  ticks: { started: number; finished: number };
  slow: { started: number; aborted: number };
  upload: { started: number; finished: number; chunks: number };
  connections: { plain: number; secret: number; tls: number };
}

/** The line the server prints once it listens. */
export interface AttackServerReady {
  plain: number;
  secret: number;
  tls: number;
}

/** The shared secret of the authenticating server. */
export const ATTACK_SECRET = "bench-attack-secret";

const stats: AttackServerStats = {
  busy: { started: 0, finished: 0, pulled: 0 },
  ticks: { started: 0, finished: 0 },
  slow: { started: 0, aborted: 0 },
  upload: { started: 0, finished: 0, chunks: 0 },
  connections: { plain: 0, secret: 0, tls: 0 },
};

const actions = [
  action("echo", (data: unknown) => data),
  /** Takes any data and answers how large an array it was: the decode is the cost. */
  action("sink", (data: unknown) => Array.isArray(data) ? data.length : 0),
  action("busy", async function* () {
    stats.busy.started++;
    try {
      for (let n = 0;; n++) {
        stats.busy.pulled++;
        yield n;
      }
    } finally {
      stats.busy.finished++;
    }
  }),
  action("ticks", async function* () {
    stats.ticks.started++;
    try {
      for (let n = 0;; n++) {
        yield n;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      stats.ticks.finished++;
    }
  }),
  action("slow", (_: unknown, context) =>
    new Promise<null>((resolve) => {
      stats.slow.started++;
      context.signal.addEventListener("abort", () => {
        stats.slow.aborted++;
        resolve(null);
      });
    })),
  action("upload", async (chunks: AsyncIterable<unknown>) => {
    stats.upload.started++;
    try {
      for await (const _ of chunks) stats.upload.chunks++;
    } finally {
      stats.upload.finished++;
    }
    return stats.upload.chunks;
  }),
];

if (import.meta.main) {
  const read = (name: string) =>
    Deno.readTextFile(
      new URL(`../tests/fixtures/tls/${name}`, import.meta.url),
    );
  const tls = { cert: await read("cert.pem"), key: await read("key.pem") };
  const servers = {
    plain: new Server({ hostname: "127.0.0.1" }),
    secret: new Server({ hostname: "127.0.0.1", secret: ATTACK_SECRET }),
    tls: new Server({ hostname: "127.0.0.1", tls }),
  };
  const statsAction = action("stats", (): AttackServerStats => {
    stats.connections = {
      plain: servers.plain.connectionCount,
      secret: servers.secret.connectionCount,
      tls: servers.tls.connectionCount,
    };
    return stats;
  });
  const ready: Record<string, number> = {};
  for (const [name, server] of Object.entries(servers)) {
    for (const item of actions) server.addAction(item);
    server.addAction(statsAction);
    ready[name] = (await server.listen()).port;
  }
  console.log(JSON.stringify(ready));
  const stop = async () => {
    Deno.removeSignalListener("SIGTERM", stop);
    await Promise.all(
      Object.values(servers).map((server) => server.shutdown()),
    );
  };
  Deno.addSignalListener("SIGTERM", stop);
}
