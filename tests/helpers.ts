/**
 * Set-up shared by the tests: a served server on a free loopback port, raw
 * sockets for playing a misbehaving peer, and a seeded random source.
 *
 * @module
 */

import { FaultProxy } from "./fault_proxy.ts";
import {
  type Action,
  Client,
  Server,
  type ServerOptions,
  type TcpClientOptions,
} from "../mod.ts";
import { MessageCodec } from "../src/protocol/message_codec.ts";
import { PROTOCOL_VERSION } from "../src/protocol/message_type.ts";
import { FrameEncoderStream } from "../src/wire/framing.ts";
import { concat } from "../src/base/bytes.ts";

/** A listening server and a way to make clients for it. */
export interface Served extends AsyncDisposable {
  server: Server;
  port: number;
  /** A new client for this server (closed with the fixture). */
  client(options?: Partial<TcpClientOptions>): Client;
}

/** Starts a server on 127.0.0.1 with the given actions; `await using` closes it and its clients. */
export async function serve(
  actions: readonly Action<never, unknown>[],
  options: ServerOptions = {},
): Promise<Served> {
  const server = new Server({ hostname: "127.0.0.1", port: 0, ...options });
  for (const action of actions) server.addAction(action);
  const { port } = await server.listen();
  const clients: Client[] = [];
  return {
    server,
    port,
    client(clientOptions = {}) {
      const client = new Client({
        hostname: "127.0.0.1",
        port,
        extensions: options.extensions,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((client) => client.close()));
      await server.shutdown();
    },
  };
}

/** A port nothing listens on (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Resolves after `milliseconds`. */
export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Reads from a raw connection until it closes, or until `timeout` ms pass.
 * Resolves with the bytes and whether the peer closed in time.
 */
export async function readUntilClosed(
  conn: Deno.Conn,
  timeout: number,
): Promise<{ bytes: Uint8Array; closed: boolean }> {
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => conn.close(), timeout);
  let closed = false;
  try {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) {
        closed = true;
        break;
      }
      chunks.push(buffer.slice(0, count));
    }
  } catch {
    // Closed by the timer.
  } finally {
    clearTimeout(timer);
  }
  if (closed) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  return { bytes: chunks.length ? concat(chunks) : new Uint8Array(0), closed };
}

/** Encodes frames and messages by hand, to play a peer that misbehaves on purpose. */
export const wire = {
  codec: new MessageCodec([]),
  /** Frames a body with its 4-byte length prefix. */
  frame(body: Uint8Array): Uint8Array {
    return concat(new FrameEncoderStream().encode(body));
  },
  /** A valid hello frame. */
  hello(maxFrameSize = 64 * 1024 * 1024): Uint8Array {
    return wire.frame(
      wire.codec.encodeHello({
        version: PROTOCOL_VERSION,
        maxFrameSize,
        nonce: new Uint8Array(32),
        authRequired: false,
      }),
    );
  },
  /** A message frame, such as `[0, 1, "echo", "hi"]`. */
  message(items: readonly unknown[]): Uint8Array {
    return wire.frame(concat(wire.codec.encodeRaw(items)));
  },
};

/** A seeded pseudo-random source (mulberry32), so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes from a seeded source. */
export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/**
 * Starts a plain {@linkcode FaultProxy} in front of `port` on 127.0.0.1,
 * recording every byte: for watching connections (`bytes()`, `sent()`) and
 * cutting them (`cut()`).
 */
export function tcpProxy(port: number): FaultProxy {
  return new FaultProxy({ target: port, isRecording: true });
}

/** The `isock` command line's entry point. */
const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** How to run the `isock` command line. */
export interface CliRun {
  /** Written to its stdin, which is then closed; without it stdin is null. */
  stdin?: string;
  /** Variables added to its environment. */
  env?: Record<string, string>;
  /** V8's heap limit, in MiB. */
  heapMiB?: number;
  /** When it is killed, in milliseconds from its start. @default {120_000} */
  deadlineMs?: number;
  /** A program and its arguments that run `deno` (GNU time, for the bench). */
  wrapper?: readonly string[];
}

/** What a run of the `isock` command line gave. */
export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to exit. */
  ms: number;
  /** Whether it was killed at its deadline. */
  killed: boolean;
}

/** Starts `isock ARGS` as a process of its own, every stream piped but stdin's as `run` says. */
export function spawnCli(
  args: readonly string[],
  run: CliRun = {},
): Deno.ChildProcess {
  const [program, ...before] = run.wrapper ?? [Deno.execPath()];
  return new Deno.Command(program, {
    args: [
      ...before,
      ...(run.wrapper === undefined ? [] : [Deno.execPath()]),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env=ISOCK_SECRET",
      ...(run.heapMiB === undefined
        ? []
        : [`--v8-flags=--max-old-space-size=${run.heapMiB}`]),
      CLI,
      ...args,
    ],
    env: run.env ?? {},
    stdin: run.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Runs `isock ARGS` to its end, or kills it at its deadline (a run that
 * hangs then fails, as a crash would, instead of hanging the tests).
 */
export async function runCli(
  args: readonly string[],
  run: CliRun = {},
): Promise<CliOutcome> {
  const started = performance.now();
  const child = spawnCli(args, run);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
  }, run.deadlineMs ?? 120_000);
  let output: Deno.CommandOutput;
  try {
    if (run.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(run.stdin));
      await writer.close();
    }
    output = await child.output();
  } finally {
    clearTimeout(timer);
  }
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    ms: performance.now() - started,
    killed,
  };
}
