/**
 * `deno task attacks`: the hostile peers of issue 8 against a server in a
 * process of its own (`bench/attack_server.ts`), each attack against a
 * fresh server. For each: what the attacker got (an error, a goodbye, a
 * close) and how fast; the server's resident memory (VmRSS, read from
 * `/proc/<pid>/status` every 50 ms) before, at its peak during the attack
 * and at its end; its open files (`/proc/<pid>/fd`); the latency of a good
 * client's echo calls during the attack against a baseline measured just
 * before on the same server; whether a fresh client is served afterwards;
 * and how long the server takes to exit on SIGTERM (work an attack left
 * running keeps it alive).
 *
 * Prints a Markdown table and writes the figures as JSON to
 * `bench/results/attacks-<timestamp>.json`. `deno task attacks <name>…`
 * runs only the attacks whose names start with one of the arguments.
 *
 * Loopback only; every loop is bounded in count and time; every process it
 * starts, it stops (on errors too). Linux only (it reads /proc).
 *
 * @module
 */

import { action, Client } from "../mod.ts";
import { concat } from "../src/base/bytes.ts";
import { FrameDecoder } from "../src/wire/framing.ts";
import type { Message } from "../src/protocol/message_table.ts";
import { MessageType } from "../src/protocol/message_type.ts";
import { wire } from "../tests/helpers.ts";
import type { AttackServerReady, AttackServerStats } from "./attack_server.ts";
import { cliTable, runCliAttacks } from "./attacks_cli.ts";
import { runNatsAttacks } from "./attacks_nats.ts";

const MiB = 1 << 20;
const echo = action("echo", (data: unknown) => data);
const statsRef = action("stats", (): AttackServerStats => {
  throw new Error("runs on the server");
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// The server process and its sampler.

interface Sample {
  /** performance.now() in this process when the sample arrived. */
  t: number;
  rssKiB: number;
  fds: number;
}

/** Reads VmRSS and the open-file count of `pid` every 50 ms (bash: Deno reads /proc/<pid> only with --allow-all). */
const SAMPLER = `
p=$1; end=$((SECONDS + 300))
while [ -d /proc/$p ] && [ $SECONDS -lt $end ]; do
  r=0
  while read -r k v _; do [ "$k" = "VmRSS:" ] && r=$v; done < /proc/$p/status
  f=(/proc/$p/fd/*)
  echo "$r \${#f[@]}"
  sleep 0.05
done`;

class ServerProcess {
  readonly samples: Sample[] = [];
  #stderr = "";
  #sampler?: Deno.ChildProcess;
  #sampling?: Promise<void>;
  #draining?: Promise<void>;
  #exited = false;
  #status: Promise<Deno.CommandStatus>;

  private constructor(
    readonly child: Deno.ChildProcess,
    readonly ports: AttackServerReady,
  ) {
    this.#status = child.status.then((status) => {
      this.#exited = true;
      return status;
    });
  }

  static async start(): Promise<ServerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        new URL("./attack_server.ts", import.meta.url).pathname,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    const reader = lines.getReader();
    let text = "";
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 20_000);
    try {
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the attack server exited before listening");
        text += value;
      }
    } finally {
      clearTimeout(timer);
    }
    const server = new ServerProcess(
      child,
      JSON.parse(text.slice(0, text.indexOf("\n"))),
    );
    server.#draining = (async () => {
      try {
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
      } catch { /* closed */ }
    })();
    server.#readStderr();
    server.#startSampler();
    return server;
  }

  async #readStderr(): Promise<void> {
    try {
      for await (
        const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        this.#stderr = (this.#stderr + chunk).slice(-4000);
      }
    } catch { /* closed */ }
  }

  #startSampler(): void {
    const sampler = new Deno.Command("bash", {
      args: ["-c", SAMPLER, "sampler", String(this.child.pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#sampler = sampler;
    this.#sampling = (async () => {
      let rest = "";
      for await (
        const chunk of sampler.stdout.pipeThrough(new TextDecoderStream())
      ) {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          const [rss, fds] = line.split(" ").map(Number);
          if (rss > 0) {
            this.samples.push({ t: performance.now(), rssKiB: rss, fds });
          }
        }
      }
    })().catch(() => {});
  }

  get alive(): boolean {
    return !this.#exited;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The samples taken between two instants. */
  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.t >= from && s.t <= to);
  }

  /** The last sample before `t`. */
  before(t: number): Sample | undefined {
    return this.samples.findLast((s) => s.t < t);
  }

  /** SIGTERM, then SIGKILL after 5 s: how long it took to exit by itself (null: it did not). */
  async stop(): Promise<number | null> {
    const started = performance.now();
    let exitMs: number | null = null;
    if (!this.#exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* gone */ }
      const exited = await Promise.race([
        this.#status.then(() => true),
        delay(5_000).then(() => false),
      ]);
      if (exited) exitMs = performance.now() - started;
      else {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
      }
    }
    await this.#status;
    try {
      this.#sampler?.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#sampler?.status;
    await this.#sampling;
    await this.#draining;
    return exitMs;
  }
}

// ---------------------------------------------------------------------------
// A raw peer that plays the attacker.

/** Writes every byte; false when the connection failed first. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    for (let at = 0; at < bytes.length;) {
      at += await conn.write(bytes.subarray(at));
    }
    return true;
  } catch {
    return false;
  }
}

class RawPeer {
  readonly messages: Message[] = [];
  /** performance.now() when the first answer (error, goodbye) or the close came. */
  answeredAt?: number;
  closedAt?: number;
  #fragments = new Map<number, Uint8Array[]>();
  #reading?: Promise<void>;
  #isClosed = false;
  #wake: (() => void)[] = [];

  private constructor(readonly conn: Deno.Conn) {}

  /** Connects (and says hello unless told not to). */
  static async open(
    port: number,
    options: { hello?: boolean; read?: boolean } = {},
  ): Promise<RawPeer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const peer = new RawPeer(conn);
    if (options.hello !== false) await writeAll(conn, wire.hello());
    if (options.read !== false) peer.startReading();
    return peer;
  }

  startReading(): void {
    this.#reading ??= this.#read();
  }

  async #read(): Promise<void> {
    const decoder = new FrameDecoder({ maxFrameSize: 128 * MiB });
    let isHello = true;
    const buffer = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const count = await this.conn.read(buffer);
        if (count === null) break;
        decoder.push(buffer.subarray(0, count), (body) => {
          if (isHello) {
            isHello = false;
            return;
          }
          this.#take(body.slice());
        });
      }
    } catch { /* closed, by us or by the server */ }
    this.closedAt ??= performance.now();
    this.#isClosed = true;
    this.#notify();
  }

  #take(body: Uint8Array): void {
    let message: Message;
    // A large answer (an echoed payload) is not decoded here: that would
    // stall this process, and its stall would count against the server.
    if (body.length > 64 * 1024 && body[1] !== MessageType.FRAGMENT) {
      if (body[1] === MessageType.RESULT) {
        this.answeredAt ??= performance.now();
        this.messages.push({ type: MessageType.RESULT } as Message);
        this.#notify();
      }
      return;
    }
    try {
      message = wire.codec.decode(body);
    } catch {
      return;
    }
    if (message.type === MessageType.FRAGMENT) {
      const pieces = this.#fragments.get(message.id) ?? [];
      pieces.push(message.bytes);
      const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
      if (length < message.total) this.#fragments.set(message.id, pieces);
      else {
        this.#fragments.delete(message.id);
        this.#take(concat(pieces));
      }
      return;
    }
    if (
      message.type === MessageType.ERROR ||
      message.type === MessageType.GOODBYE ||
      message.type === MessageType.RESULT
    ) {
      this.answeredAt ??= performance.now();
    }
    this.messages.push(message);
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  write(bytes: Uint8Array): Promise<boolean> {
    return writeAll(this.conn, bytes);
  }

  /** Waits until `done` holds or the connection closes, at most `timeout` ms; whether `done` held. */
  async waitFor(
    done: (messages: readonly Message[]) => boolean,
    timeout: number,
  ): Promise<boolean> {
    const until = performance.now() + timeout;
    while (!done(this.messages) && !this.#isClosed) {
      const left = until - performance.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return done(this.messages);
  }

  /** Waits for the server to close, at most `timeout` ms. */
  async waitClosed(timeout: number): Promise<boolean> {
    this.startReading();
    await this.waitFor(() => false, timeout);
    return this.#isClosed;
  }

  /** What the server said: the first error or goodbye code, else result / closed / nothing. */
  outcome(): string {
    for (const message of this.messages) {
      if (message.type === MessageType.GOODBYE) {
        return `goodbye ${message.error?.code ?? "(graceful)"}`;
      }
      if (message.type === MessageType.ERROR) {
        return `error ${message.error.code}`;
      }
      if (message.type === MessageType.RESULT) return "result";
    }
    return this.#isClosed ? "closed" : "nothing";
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.#reading;
  }
}

// ---------------------------------------------------------------------------
// Hostile bytes.

/** An array (`dd` header) of `byteLength / item.length` copies of `item`. */
function arrayOf(byteLength: number, item: readonly number[]): Uint8Array {
  const count = Math.floor(byteLength / item.length);
  const bytes = new Uint8Array(5 + count * item.length);
  new DataView(bytes.buffer).setUint32(1, count);
  bytes[0] = 0xdd;
  const pattern = new Uint8Array(item);
  for (let at = 5; at < bytes.length; at += item.length) {
    bytes.set(pattern, at);
  }
  return bytes;
}

/** A bigint (extension 2) of `length` bytes of digits. */
function bigintOf(length: number): Uint8Array {
  const bytes = new Uint8Array(6 + length).fill(0x5a);
  bytes.set([0xc9, 0, 0, 0, 0, 0x02]);
  new DataView(bytes.buffer).setUint32(1, length);
  return bytes;
}

/** The frame of `[0, id, action, <data>]`, with `data` given as raw MessagePack. */
function requestWithRawData(
  id: number,
  actionName: string,
  data: Uint8Array,
): Uint8Array {
  const head = concat(
    wire.codec.encodeRaw([MessageType.REQUEST, id, actionName]),
  );
  head[0] = 0x94; // Four items: the data follows.
  return wire.frame(concat([head, data]));
}

/**
 * One frame holding a request of about `size` bytes wrapped in `depth`
 * fragments, each a single piece holding the next: `[16, 1, total, bin]`.
 */
function nestedFragments(depth: number, size: number): Uint8Array {
  const inner = concat(
    wire.codec.encodeRaw([
      MessageType.REQUEST,
      1,
      "echo",
      new Uint8Array(size),
    ]),
  );
  const headers: Uint8Array[] = [];
  let length = inner.length;
  for (let level = 0; level < depth; level++) {
    // 94 10 01 ce <total:u32> c6 <length:u32>
    const header = new Uint8Array(13);
    header.set([0x94, 0x10, 0x01, 0xce]);
    new DataView(header.buffer).setUint32(4, length);
    header[8] = 0xc6;
    new DataView(header.buffer).setUint32(9, length);
    headers.push(header);
    length += header.length;
  }
  return wire.frame(concat([...headers.reverse(), inner]));
}

// ---------------------------------------------------------------------------
// The good client.

interface Latency {
  calls: number;
  failures: number;
  p50: number;
  p99: number;
  max: number;
}

function summarize(latencies: number[], failures: number): Latency {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length
      ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
      : NaN;
  return {
    calls: latencies.length,
    failures,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** Echo calls one after another (5 ms apart) until `stop()` or `maxMs`, at most 20,000. */
function goodLoop(client: Client, maxMs: number) {
  let stopped = false;
  const latencies: number[] = [];
  let failures = 0;
  const errors = new Set<string>();
  const done = (async () => {
    const until = performance.now() + maxMs;
    for (let i = 0; i < 20_000 && !stopped && performance.now() < until; i++) {
      const started = performance.now();
      try {
        await client.runAction(echo, "ping", { timeout: 5_000 });
        latencies.push(performance.now() - started);
      } catch (error) {
        // A failed call (a TIMEOUT, say) counts with the time it took.
        latencies.push(performance.now() - started);
        failures++;
        errors.add((error as { code?: string }).code ?? String(error));
      }
      await delay(5);
    }
  })();
  return {
    async stop(): Promise<Latency & { errors: string[] }> {
      stopped = true;
      await done;
      return { ...summarize(latencies, failures), errors: [...errors] };
    },
  };
}

/** The longest lateness of a 10 ms timer in this process (the attacker's side), to tell its stalls from the server's. */
function lagProbe() {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  return {
    stop(): number {
      clearInterval(timer);
      return worst;
    },
  };
}

// ---------------------------------------------------------------------------
// The attacks.

interface AttackContext {
  ports: AttackServerReady;
  stats(): Promise<AttackServerStats>;
}

interface AttackResult {
  /** What the attacker got. */
  got: string;
  /** Milliseconds from the start of the attack to the refusal (or to the end of the attack). */
  ms: number;
  /** Anything else worth a line. */
  note?: string;
  /** The refusal was what a fixed library gives. */
  refused: boolean;
}

interface Attack {
  name: string;
  issueItem: string;
  /** Builds the hostile bytes before the baseline, so building them is not measured. */
  prepare?: () => void;
  run(context: AttackContext): Promise<AttackResult>;
}

let prepared: Uint8Array = new Uint8Array(0);

/**
 * The frame of `[16, id, total, <piece bytes of zeros>]` for ids below 128,
 * made once and patched: building 1 MiB messages while the good client
 * runs would stall this process, not the server.
 */
function fragmentFrames(
  ids: number,
  total: number,
  piece: number,
): Uint8Array[] {
  const template = wire.message([
    MessageType.FRAGMENT,
    1,
    total,
    new Uint8Array(piece),
  ]);
  // 4 bytes of length, 94 10, then the id as a positive fixint.
  return Array.from({ length: ids }, (_, i) => {
    const frame = template.slice();
    frame[6] = i + 1;
    return frame;
  });
}

let preparedFrames: Uint8Array[] = [];

/** One connection sending one prepared frame: what it got back, and when. */
async function oneFrame(
  port: number,
  frame: Uint8Array,
  expected: string,
  timeout = 30_000,
): Promise<AttackResult> {
  const started = performance.now();
  const peer = await RawPeer.open(port);
  try {
    await peer.write(frame);
    await peer.waitFor(
      (messages) =>
        messages.some((m) =>
          m.type === MessageType.ERROR || m.type === MessageType.GOODBYE ||
          m.type === MessageType.RESULT
        ),
      timeout,
    );
    const got = peer.outcome();
    return {
      got,
      ms: (peer.answeredAt ?? peer.closedAt ?? performance.now()) - started,
      refused: got === expected,
    };
  } finally {
    await peer.close();
  }
}

const ATTACKS: Attack[] = [
  {
    name: "errors-16MiB",
    issueItem: "1",
    prepare: () =>
      prepared = requestWithRawData(
        1,
        "echo",
        arrayOf(16 * MiB, [0xd4, 0x05, 0x80]),
      ),
    run: ({ ports }) =>
      oneFrame(ports.plain, prepared, "error INVALID_REQUEST"),
  },
  {
    name: "bigint-16MiB",
    issueItem: "1",
    prepare: () => prepared = requestWithRawData(1, "sink", bigintOf(16 * MiB)),
    // Accepted: decoded in about what its bytes cost.
    run: async ({ ports }) => ({
      ...await oneFrame(ports.plain, prepared, "result"),
      note: "accepted (to `sink`): the decode is the cost",
    }),
  },
  {
    name: "bigint-16MiB-echoed",
    issueItem: "1",
    prepare: () => prepared = requestWithRawData(1, "echo", bigintOf(16 * MiB)),
    run: async ({ ports }) => ({
      ...await oneFrame(ports.plain, prepared, "result"),
      note:
        "accepted and returned by `echo`: decoded, then encoded back (16 MiB)",
    }),
  },
  {
    name: "arrays-60MiB",
    issueItem: "1",
    prepare: () =>
      prepared = requestWithRawData(1, "echo", arrayOf(60 * MiB, [0x90])),
    run: ({ ports }) =>
      oneFrame(ports.plain, prepared, "error INVALID_REQUEST"),
  },
  {
    name: "fixints-60MiB",
    issueItem: "1",
    // Not in the issue: ordinary-looking data (an array of small integers)
    // costs 1 unit a byte, within the budget of 4 a byte, but 60 million
    // values exceed the cap any one message has (MAX_BUDGET).
    prepare: () =>
      prepared = requestWithRawData(1, "sink", arrayOf(60 * MiB, [0x07])),
    run: async ({ ports }) => ({
      ...await oneFrame(ports.plain, prepared, "result"),
      note: "63 million values: over the cap of one message's decode budget",
    }),
  },
  {
    name: "control-binary-60MiB",
    issueItem: "-",
    // Not an attack: a large ordinary message, for comparison.
    prepare: () => {
      const bytes = new Uint8Array(5 + 60 * MiB);
      bytes[0] = 0xc6;
      new DataView(bytes.buffer).setUint32(1, 60 * MiB);
      prepared = requestWithRawData(1, "sink", bytes);
    },
    run: ({ ports }) => oneFrame(ports.plain, prepared, "result"),
  },
  {
    name: "window-2^53-1",
    issueItem: "2",
    run: ({ ports }) =>
      oneFrame(
        ports.plain,
        wire.message([MessageType.REQUEST, 1, "busy", null, {
          stream: 2 ** 53 - 1,
        }]),
        "goodbye PROTOCOL",
      ),
  },
  {
    name: "window-65536-unread",
    issueItem: "2",
    // Within the rules: the largest window, to a generator that never
    // waits, from a peer that never reads, for 2 s.
    run: async ({ ports, stats }) => {
      const started = performance.now();
      const before = (await stats()).busy;
      const peer = await RawPeer.open(ports.plain, { read: false });
      await peer.write(
        wire.message([MessageType.REQUEST, 1, "busy", null, {
          stream: 65_536,
        }]),
      );
      await delay(2_000);
      const during = (await stats()).busy;
      await peer.close();
      let after = during;
      for (let i = 0; i < 40 && after.finished === before.finished; i++) {
        await delay(50);
        after = (await stats()).busy;
      }
      const pulled = during.pulled - before.pulled;
      const finished = after.finished > before.finished;
      return {
        got: `${pulled} items in 2 s, then paused (${
          pulled >= 65_536 ? "credit used up" : "congested"
        })`,
        ms: performance.now() - started,
        note: `generator's finally ran after the close: ${
          finished ? "yes" : "NO"
        }`,
        refused: pulled < 65_536 && finished,
      };
    },
  },
  {
    name: "credit-flood",
    issueItem: "2",
    prepare: () => {
      const credit = wire.message([MessageType.CREDIT, 1, 1]);
      const flood = new Uint8Array(credit.length * 100_000);
      for (let at = 0; at < flood.length; at += credit.length) {
        flood.set(credit, at);
      }
      prepared = concat([
        wire.message([MessageType.REQUEST, 1, "busy", null, { stream: 16 }]),
        flood,
      ]);
    },
    run: ({ ports }) => oneFrame(ports.plain, prepared, "goodbye PROTOCOL"),
  },
  {
    name: "nested-fragments-2000",
    issueItem: "3",
    prepare: () => prepared = nestedFragments(2_000, MiB),
    run: ({ ports }) => oneFrame(ports.plain, prepared, "goodbye PROTOCOL"),
  },
  {
    name: "id-reuse-20x500",
    issueItem: "4",
    run: async ({ ports, stats }) => {
      const started = performance.now();
      const originals = [
        wire.message([MessageType.REQUEST, 1, "slow", null]),
        wire.message([MessageType.REQUEST, 2, "ticks", null, { stream: 4 }]),
        wire.message([MessageType.REQUEST, 3, "upload", null, { input: true }]),
        wire.message([MessageType.INPUT, 3, "chunk"]),
      ];
      const duplicates = concat(
        Array.from({ length: 500 }, (_, i) => originals[i % 3]),
      );
      const peers = await Promise.all(
        Array.from({ length: 20 }, () => RawPeer.open(ports.plain)),
      );
      try {
        await Promise.all(peers.map((peer) => peer.write(concat(originals))));
        await delay(100);
        const running = await stats();
        await Promise.all(peers.map((peer) => peer.write(duplicates)));
        await Promise.all(peers.map((peer) => peer.waitClosed(10_000)));
        const outcomes = peers.map((peer) => peer.outcome());
        const ms = Math.max(
          ...peers.map((peer) =>
            (peer.closedAt ?? performance.now()) - started
          ),
        );
        await Promise.all(peers.map((peer) => peer.close()));
        // Give aborted work a moment to reach its finally.
        let after = await stats();
        const left = (s: AttackServerStats) =>
          s.slow.started - s.slow.aborted + s.ticks.started - s.ticks.finished +
          s.upload.started - s.upload.finished;
        for (let i = 0; i < 40 && left(after) > 0; i++) {
          await delay(50);
          after = await stats();
        }
        const protocol = outcomes.filter((o) =>
          o === "goodbye PROTOCOL"
        ).length;
        return {
          got: `goodbye PROTOCOL on ${protocol}/20`,
          ms,
          note:
            `started before the duplicates: ${running.slow.started} handlers, ${running.ticks.started} generators, ${running.upload.started} uploads; left running after: ${
              left(after)
            } (handlers ${
              after.slow.started - after.slow.aborted
            }, generators ${
              after.ticks.started - after.ticks.finished
            }, uploads ${after.upload.started - after.upload.finished})`,
          refused: protocol === 20 && left(after) === 0,
        };
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
      }
    },
  },
  {
    name: "tls-silent",
    issueItem: "5",
    run: async ({ ports }) => {
      const limit = openFileLimit();
      // Both ends are on this machine: ours here, the server's there.
      const count = Math.min(2_000, Math.floor((limit - 200) / 1.2));
      const started = performance.now();
      const conns: Deno.TcpConn[] = [];
      try {
        for (
          let i = 0;
          i < count && performance.now() - started < 20_000;
          i++
        ) {
          conns.push(
            await Deno.connect({ hostname: "127.0.0.1", port: ports.tls }),
          );
        }
        const opened = performance.now() - started;
        // A legitimate TLS client while they are all open.
        const cert = await Deno.readTextFile(
          new URL("../tests/fixtures/tls/cert.pem", import.meta.url),
        );
        const tlsStarted = performance.now();
        let tlsCall: string;
        const tlsClient = new Client({
          hostname: "localhost",
          port: ports.tls,
          tls: { caCerts: [cert] },
          retry: 1,
        });
        try {
          await tlsClient.runAction(echo, "in", { timeout: 5_000 });
          tlsCall = `served in ${
            (performance.now() - tlsStarted).toFixed(0)
          } ms`;
        } catch (error) {
          tlsCall = `FAILED ${(error as { code?: string }).code ?? error}`;
        } finally {
          await tlsClient.close();
        }
        // The handshake timeout (10 s by default) closes them.
        const closedAt = await Promise.all(conns.map(async (conn) => {
          const buffer = new Uint8Array(1024);
          const timer = setTimeout(() => conn.close(), 16_000);
          try {
            while ((await conn.read(buffer)) !== null) { /* nothing comes */ }
            return performance.now() - started;
          } catch {
            return null; // Closed by the timer: the server never closed it.
          } finally {
            clearTimeout(timer);
          }
        }));
        const closed = closedAt.filter((t): t is number => t !== null);
        closed.sort((a, b) => a - b);
        return {
          got: `closed by the server: ${closed.length}/${count}`,
          ms: closed.length
            ? closed[closed.length - 1]
            : performance.now() - started,
          note: `${count} opened in ${
            opened.toFixed(0)
          } ms (fd limit ${limit}); first closed at ${
            closed.length ? closed[0].toFixed(0) : "-"
          } ms; a TLS client meanwhile: ${tlsCall}`,
          refused: closed.length === count && tlsCall.startsWith("served"),
        };
      } finally {
        for (const conn of conns) {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      }
    },
  },
  {
    name: "fragments-64x64MiB",
    issueItem: "6",
    // 4 connections, each starting 64 fragmented messages of maxFrameSize.
    prepare: () => preparedFrames = fragmentFrames(64, 64 * MiB, MiB),
    run: async ({ ports }) => {
      const started = performance.now();
      const sent: number[] = [];
      const peers = await Promise.all(
        Array.from({ length: 4 }, () => RawPeer.open(ports.plain)),
      );
      try {
        await Promise.all(peers.map(async (peer, p) => {
          sent[p] = 0;
          for (let id = 1; id <= 64 && !peer.isClosed; id++) {
            const ok = await peer.write(preparedFrames[id - 1]);
            if (!ok) break;
            sent[p]++;
          }
          await peer.waitClosed(5_000);
        }));
        const outcomes = peers.map((peer) => peer.outcome());
        const protocol = outcomes.filter((o) =>
          o === "goodbye PROTOCOL"
        ).length;
        return {
          got: `goodbye PROTOCOL on ${protocol}/4`,
          ms: Math.max(
            ...peers.map((p) => (p.closedAt ?? performance.now()) - started),
          ),
          note: `fragments sent before the close: ${sent.join(", ")}`,
          refused: protocol === 4,
        };
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
      }
    },
  },
  {
    name: "fragments-held-within-rules",
    issueItem: "6",
    // What the rules allow: 16 fragmented messages per connection whose
    // totals add up to maxFrameSize (64 MiB), 3/4 of each sent, then held
    // for 3 s with pings; 4 connections.
    prepare: () => preparedFrames = fragmentFrames(16, 4 * MiB, MiB),
    run: async ({ ports }) => {
      const started = performance.now();
      const peers = await Promise.all(
        Array.from({ length: 4 }, () => RawPeer.open(ports.plain)),
      );
      try {
        await Promise.all(peers.map(async (peer) => {
          for (let piece = 0; piece < 3 && !peer.isClosed; piece++) {
            for (let id = 1; id <= 16 && !peer.isClosed; id++) {
              await peer.write(preparedFrames[id - 1]);
            }
          }
        }));
        for (let ping = 1; ping <= 6; ping++) {
          await delay(500);
          await Promise.all(
            peers.map((peer) =>
              peer.write(wire.message([MessageType.PING, ping]))
            ),
          );
        }
        const open = peers.filter((peer) => !peer.isClosed).length;
        return {
          got: `held (allowed): ${open}/4 connections open after 3 s`,
          ms: performance.now() - started,
          note:
            "4 × 16 × 3 MiB sent (192 MiB), the per-connection bound being maxFrameSize (64 MiB)",
          refused: true,
        };
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
      }
    },
  },
  {
    name: "pre-auth-40x60MiB",
    issueItem: "6",
    prepare: () => prepared = new Uint8Array(MiB),
    run: async ({ ports }) => {
      const started = performance.now();
      const written: number[] = [];
      const peers = await Promise.all(
        Array.from({ length: 40 }, () => RawPeer.open(ports.secret)),
      );
      try {
        await Promise.all(peers.map(async (peer, p) => {
          written[p] = 0;
          // A 64 MiB frame; 60 MiB of it sent.
          if (!(await peer.write(new Uint8Array([0x04, 0x00, 0x00, 0x00])))) {
            return;
          }
          for (let i = 0; i < 60 && !peer.isClosed; i++) {
            if (!(await peer.write(prepared))) break;
            written[p] += 1;
          }
          await peer.waitClosed(5_000);
        }));
        const tooLarge = peers.filter((peer) =>
          peer.outcome() === "goodbye FRAME_TOO_LARGE"
        )
          .length;
        return {
          got: `goodbye FRAME_TOO_LARGE on ${tooLarge}/40`,
          ms: Math.max(
            ...peers.map((p) => (p.closedAt ?? performance.now()) - started),
          ),
          note: `MiB written before the close (kernel buffers included): max ${
            Math.max(...written)
          }, total ${written.reduce((a, b) => a + b, 0)}`,
          refused: tooLarge === 40,
        };
      } finally {
        await Promise.all(peers.map((peer) => peer.close()));
      }
    },
  },
];

function openFileLimit(): number {
  const { stdout } = new Deno.Command("bash", {
    args: ["-c", "ulimit -n"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const limit = Number(new TextDecoder().decode(stdout).trim());
  return Number.isFinite(limit) ? limit : 1024;
}

// ---------------------------------------------------------------------------
// One attack against a fresh server.

interface Row {
  attack: string;
  issueItem: string;
  got: string;
  refusedMs: number;
  refused: boolean;
  note?: string;
  rssMiB: { before: number; peak: number; end: number };
  fds: { before: number; peak: number; end: number };
  baseline: Latency;
  during: Latency & { errors: string[] };
  benchLagMs: number;
  servesAfter: string;
  serverDied: boolean;
  exitMs: number | null;
  stderr?: string;
}

const round = (n: number) => Math.round(n * 10) / 10;
const toMiB = (kiB: number) => Math.round(kiB / 1024);

async function runOne(attack: Attack): Promise<Row> {
  attack.prepare?.();
  const server = await ServerProcess.start();
  const client = new Client({
    hostname: "127.0.0.1",
    port: server.ports.plain,
  });
  let exitMs: number | null = null;
  try {
    const stats = () =>
      client.runAction(statsRef, undefined, { timeout: 10_000 });
    for (let i = 0; i < 50; i++) await client.runAction(echo, "warm");
    await delay(300); // Let the sampler see the settled server.
    const baselineLoop = goodLoop(client, 1_000);
    await delay(1_000);
    const baseline = await baselineLoop.stop();
    const startedAt = performance.now();
    const probe = lagProbe();
    const loop = goodLoop(client, 60_000);
    let result: AttackResult;
    try {
      result = await attack.run({ ports: server.ports, stats });
    } catch (error) {
      result = { got: `bench error: ${error}`, ms: NaN, refused: false };
    }
    await delay(500); // Effects that come after the refusal count too.
    const during = await loop.stop();
    const benchLagMs = probe.stop();
    const endedAt = performance.now();
    const window = server.between(startedAt, endedAt);
    const first = server.before(startedAt) ?? window[0];
    const last = window.at(-1) ?? first;
    let servesAfter: string;
    const fresh = new Client({
      hostname: "127.0.0.1",
      port: server.ports.plain,
      retry: 1,
    });
    try {
      const t = performance.now();
      await fresh.runAction(echo, "after", { timeout: 5_000 });
      servesAfter = `yes (${(performance.now() - t).toFixed(0)} ms)`;
    } catch (error) {
      servesAfter = `NO: ${(error as { code?: string }).code ?? error}`;
    } finally {
      await fresh.close();
    }
    const serverDied = !server.alive;
    await client.close();
    exitMs = await server.stop();
    return {
      attack: attack.name,
      issueItem: attack.issueItem,
      got: result.got,
      refusedMs: round(result.ms),
      refused: result.refused,
      note: result.note,
      rssMiB: {
        before: toMiB(first?.rssKiB ?? NaN),
        peak: toMiB(Math.max(...window.map((s) => s.rssKiB))),
        end: toMiB(last?.rssKiB ?? NaN),
      },
      fds: {
        before: first?.fds ?? NaN,
        peak: Math.max(...window.map((s) => s.fds)),
        end: last?.fds ?? NaN,
      },
      baseline,
      during,
      benchLagMs: round(benchLagMs),
      servesAfter,
      serverDied,
      exitMs: exitMs === null ? null : Math.round(exitMs),
      stderr: server.stderr.trim() || undefined,
    };
  } finally {
    await client.close();
    await server.stop(); // Again on the way out of an error; a no-op otherwise.
  }
}

function table(rows: readonly Row[]): string {
  const ms = (n: number) =>
    Number.isNaN(n) ? "-" : n < 10 ? n.toFixed(1) : n.toFixed(0);
  const lat = (l: Latency) => `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;
  const lines = [
    "| # | attack | attacker got | after (ms) | server RSS before → peak → end (MiB) | server fds before → peak → end | good echo p50 / p99 / max, baseline (ms) | during attack (ms) | good calls failed | serves after | exit on SIGTERM |",
    "|---|---|---|---:|---|---|---|---|---:|---|---|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.issueItem} | ${row.attack} | ${row.got} | ${
        ms(row.refusedMs)
      } | ${row.rssMiB.before} → ${row.rssMiB.peak} → ${row.rssMiB.end} | ${row.fds.before} → ${row.fds.peak} → ${row.fds.end} | ${
        lat(row.baseline)
      } | ${
        lat(row.during)
      } (${row.during.calls} calls) | ${row.during.failures} | ${row.servesAfter} | ${
        row.exitMs === null ? "did NOT exit in 5 s" : `${row.exitMs} ms`
      } |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  if (Deno.build.os !== "linux") {
    console.error("bench/attacks.ts reads /proc: Linux only.");
    Deno.exit(1);
  }
  const chosen = Deno.args.length
    ? ATTACKS.filter((a) => Deno.args.some((arg) => a.name.startsWith(arg)))
    : ATTACKS;
  const rows: Row[] = [];
  const started = performance.now();
  for (const attack of chosen) {
    console.error(`… ${attack.name}`);
    const row = await runOne(attack);
    rows.push(row);
    console.error(
      `  ${row.got} in ${row.refusedMs} ms; RSS ${row.rssMiB.before} → ${row.rssMiB.peak} MiB; good p99 ${
        row.baseline.p99.toFixed(1)
      } → ${row.during.p99.toFixed(1)} ms${row.note ? `; ${row.note}` : ""}`,
    );
    prepared = new Uint8Array(0);
    preparedFrames = [];
  }
  rows.push(...await runNatsAttacks(Deno.args));
  console.log(table(rows));
  console.log();
  for (const row of rows) {
    if (row.note) console.log(`- ${row.attack}: ${row.note}`);
  }
  for (const row of rows) {
    if (row.benchLagMs > 50) {
      console.log(
        `- ${row.attack}: the bench process itself stalled up to ${row.benchLagMs} ms (its own attacker's work)`,
      );
    }
  }
  const cliRows = await runCliAttacks(Deno.args);
  if (cliRows.length > 0) console.log(`\n${cliTable(cliRows)}`);
  const report = {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    commit: new TextDecoder().decode(
      new Deno.Command("git", {
        args: ["rev-parse", "HEAD"],
        stdout: "piped",
        stderr: "null",
      })
        .outputSync().stdout,
    ).trim(),
    seconds: Math.round((performance.now() - started) / 1000),
    rows,
    cli: cliRows,
  };
  const directory = new URL("./results/", import.meta.url);
  await Deno.mkdir(directory, { recursive: true });
  const file = new URL(
    `attacks-${report.date.replace(/[:.]/g, "-")}.json`,
    directory,
  );
  await Deno.writeTextFile(file, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nWritten: ${file.pathname} (${report.seconds} s)`);
}
