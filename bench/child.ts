/**
 * The child side of the bench's processes. bench/main.ts starts each server
 * and client as its own process with a JSON config as the only argument.
 * A server prints `{"port": …}` on one line and serves until its standard
 * input ends (the orchestrator closes it, or exits); a client runs the
 * workloads and prints its results as one line of JSON. The same code runs
 * the Node peers (bundled by bench/node_scripts.ts), which pass
 * {@linkcode ChildRuntime} for Node in place of Deno's.
 *
 * @module
 */

import type { CodecName } from "./codecs.ts";
import {
  type EchoClient,
  type PayloadShape,
  runWorkloads,
  type Timing,
  type WorkloadId,
  type WorkloadResult,
} from "./workloads.ts";

export type { EchoClient } from "./workloads.ts";

/**
 * The version of what passes between bench/main.ts and its children: the
 * configs, the lines a server and a client print, and how a server is
 * told to stop. Raise it when any of them changes, so that `deno task
 * bench --against <ref>` refuses to run an older commit's programs it
 * cannot talk to.
 */
export const CHILD_PROTOCOL = 1;

/** What a child needs of its runtime. */
export interface ChildRuntime {
  /** The program's arguments. */
  args(): readonly string[];
  /** Resolves once standard input ends. */
  stdinEnd(): Promise<void>;
}

/** Deno's side of {@linkcode ChildRuntime}, the default. */
export const DENO_RUNTIME: ChildRuntime = {
  args: () => Deno.args,
  stdinEnd: async () => {
    for await (const _ of Deno.stdin.readable);
  },
};

/** The argument of a server process. */
export interface ServerConfig {
  /** The codec, for servers that take one. */
  readonly codec?: CodecName;
  /** The largest frame accepted, for the isock server; its default if absent. */
  readonly maxFrameSize?: number;
  /** For the NATS systems: the nats-server's port on 127.0.0.1, which the server prints as its own. */
  readonly natsPort?: number;
}

/** The argument of a client process. */
export interface ClientConfig extends Timing {
  /** The codec, for clients that take one. */
  readonly codec?: CodecName;
  /** The server's port on 127.0.0.1. */
  readonly port: number;
  /** The workloads to run (those the system has a payload for). */
  readonly workloads: readonly WorkloadId[];
}

/** What a server process prints first. */
export interface ServerReady {
  readonly port: number;
}

/** What a client process prints. */
export interface ClientReport {
  readonly results: readonly WorkloadResult[];
}

/** A server while it runs. */
export interface RunningServer {
  readonly port: number;
  /** Stops taking connections and closes those open. */
  stop(): Promise<void>;
}

/** The address every bench server listens on. */
export const HOSTNAME = "127.0.0.1";

/**
 * Reads the config the orchestrator passed.
 *
 * @param runtime Where the arguments come from.
 * @returns The parsed config.
 */
export function readConfig<T>(runtime: ChildRuntime = DENO_RUNTIME): T {
  const args = runtime.args();
  if (args.length !== 1) {
    throw new Error(
      "Expected one argument, a JSON config; bench/main.ts starts this program.",
    );
  }
  return JSON.parse(args[0]) as T;
}

/**
 * Runs a server process: starts the server, tells the orchestrator its
 * port, and stops it once standard input ends.
 *
 * @param start Starts the server.
 * @param runtime Where standard input comes from.
 */
export async function runServerProcess(
  start: () => Promise<RunningServer>,
  runtime: ChildRuntime = DENO_RUNTIME,
): Promise<void> {
  const server = await start();
  try {
    const ready: ServerReady = { port: server.port };
    console.log(JSON.stringify(ready));
    // Nothing is sent on stdin; it ends when the orchestrator closes it or
    // dies, so an orphaned server never outlives its bench.
    await runtime.stdinEnd();
  } finally {
    await server.stop();
  }
}

/**
 * Serves plain TCP connections, for the hand-written peers: one handler
 * per connection until stdin ends, then the listener and every connection
 * are closed.
 *
 * @param handle Serves one connection; resolves when the peer is done.
 */
export function serveTcp(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  return runServerProcess(() => {
    const listener = Deno.listen({ hostname: HOSTNAME, port: 0 });
    const conns = new Set<Deno.TcpConn>();
    const handlers = new Set<Promise<void>>();
    const accepting = (async () => {
      for await (const conn of listener) {
        conns.add(conn);
        const handler = handle(conn)
          .catch((error) => {
            // A connection closed by stop() is not a failure (a read under
            // way is interrupted, a later one finds no resource); anything
            // else fails the process, and its client sees the close.
            if (
              error instanceof Deno.errors.BadResource ||
              error instanceof Deno.errors.Interrupted
            ) return;
            console.error("The server failed on a connection:", error);
            Deno.exitCode = 1;
          })
          .finally(() => {
            conns.delete(conn);
            handlers.delete(handler);
            closeQuietly(conn);
          });
        handlers.add(handler);
      }
    })();
    return Promise.resolve({
      port: listener.addr.port,
      async stop() {
        listener.close();
        for (const conn of conns) closeQuietly(conn);
        await Promise.all([accepting, ...handlers]);
      },
    });
  });
}

/**
 * Runs a client process: runs the workloads, connecting as they need, and
 * prints the results.
 *
 * @param shape What the system echoes.
 * @param connect Opens a client of the server.
 * @param runtime Where the config comes from.
 */
export async function runClientProcess(
  shape: PayloadShape,
  connect: (config: ClientConfig) => Promise<EchoClient>,
  runtime: ChildRuntime = DENO_RUNTIME,
): Promise<void> {
  const config = readConfig<ClientConfig>(runtime);
  const results = await runWorkloads(
    () => connect(config),
    shape,
    config.workloads,
    config,
  );
  const report: ClientReport = { results };
  console.log(JSON.stringify(report));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
