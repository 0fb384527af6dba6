/**
 * The tests' TCP proxy between clients and a server on 127.0.0.1. Plain, it
 * forwards every byte (and can record them), cuts every connection on
 * demand, and cuts or swallows new connections while told to. Given fault
 * weights (the chaos tests), it applies to each connection one fault drawn
 * from a seeded generator — the connection cut at a byte offset (in the
 * middle of a frame, of the handshake, of a stream), a stall, a blackhole
 * that swallows bytes without closing (from an offset, or from the start: a
 * silent server), a trickle of one byte at a time, a delay on every chunk,
 * bytes gathered and forwarded in batches (so that frames sent apart arrive
 * together) — and can cut it after a seeded lifetime (whatever is passing
 * then), so that clients keep reconnecting. It never changes a byte it
 * forwards, so whatever the faults do, a peer never has a reason to see a
 * protocol breach.
 *
 * @module
 */

import { concat } from "../src/base/bytes.ts";
import { seededRandom } from "./helpers.ts";

/** What the proxy does to one connection. */
export type FaultKind =
  | "pass"
  | "cut"
  | "stall"
  | "blackhole"
  | "silent"
  | "trickle"
  | "delay"
  | "batch";

/** Which way the fault applies: client to server, or server to client. */
export type FaultDirection = "up" | "down";

/** One connection's fault, drawn by {@linkcode drawFault}. */
export interface Fault {
  kind: FaultKind;
  direction: FaultDirection;
  /** Bytes forwarded in `direction` before the fault strikes. */
  offset: number;
  /**
   * How long a stall lasts, the delay on each chunk, or how long a batch
   * gathers bytes before it forwards them in one write, in milliseconds.
   */
  milliseconds: number;
  /**
   * When the connection is cut whatever passes then, in milliseconds after
   * it was accepted: every connection ends, so clients keep reconnecting.
   */
  lifetime: number;
}

/** How often each fault is drawn, relative to the others. */
export type FaultWeights = Record<FaultKind, number>;

/** The chaos mix: a third of the connections see no fault but their lifetime. */
export const DEFAULT_FAULT_WEIGHTS: FaultWeights = {
  pass: 20,
  cut: 30,
  stall: 9,
  blackhole: 8,
  silent: 8,
  trickle: 10,
  delay: 8,
  batch: 8,
};

/** No fault at all (the default): a plain proxy. */
export const NO_FAULTS: FaultWeights = {
  pass: 1,
  cut: 0,
  stall: 0,
  blackhole: 0,
  silent: 0,
  trickle: 0,
  delay: 0,
  batch: 0,
};

/** Bytes a trickle sends one at a time before it lets the rest through. */
const TRICKLE_BYTES = 96;
/** The pause between two trickled bytes, in milliseconds. */
const TRICKLE_GAP = 2;

/**
 * Draws one connection's fault. Offsets fall in the handshake (the hello
 * and the authentication are a few dozen bytes each) about as often as in
 * the calls after it.
 */
export function drawFault(
  random: () => number,
  weights: FaultWeights = DEFAULT_FAULT_WEIGHTS,
): Fault {
  const kinds = Object.keys(weights) as FaultKind[];
  const total = kinds.reduce((sum, kind) => sum + weights[kind], 0);
  let pick = random() * total;
  let kind: FaultKind = "pass";
  for (const candidate of kinds) {
    pick -= weights[candidate];
    if (pick < 0) {
      kind = candidate;
      break;
    }
  }
  const direction: FaultDirection = random() < 0.5 ? "up" : "down";
  const offset = kind === "silent"
    ? 0
    : random() < 0.45
    ? Math.floor(random() * 160)
    : 160 + Math.floor(random() * 12_000);
  const milliseconds = kind === "delay"
    ? 2 + Math.floor(random() * 30)
    : kind === "batch"
    ? 20 + Math.floor(random() * 200)
    : 50 + Math.floor(random() * 400);
  const lifetime = 300 + Math.floor(random() * 2700);
  return { kind, direction, offset, milliseconds, lifetime };
}

/**
 * What the proxy does with a connection it accepts, before any fault: let it
 * pass to the server, cut it at once, or hold it open and never answer (a
 * server that accepts and then hangs).
 */
export type ConnectionMode = "pass" | "cut" | "blackhole";

/** Options of {@linkcode FaultProxy}. */
export interface FaultProxyOptions {
  /** The server's port on 127.0.0.1; can be changed later with {@linkcode FaultProxy.target}. */
  target: number;
  /**
   * Seeds the fault of every connection: connection n gets the same fault for the same seed.
   *
   * @default {0}
   */
  seed?: number;
  /**
   * How often each fault is drawn.
   *
   * @default {NO_FAULTS}
   */
  weights?: FaultWeights;
  /**
   * Whether every connection is cut after its seeded lifetime.
   *
   * @default {false}
   */
  hasLifetimes?: boolean;
  /**
   * Cuts every connection this many milliseconds after the server's first
   * bytes reached the client (its hello), whatever the seeded lifetimes: a
   * server that crashes soon after each handshake.
   */
  lifetimeAfterHello?: number;
  /**
   * Whether the proxy keeps every byte it forwards, for
   * {@linkcode FaultProxy.bytes} and {@linkcode FaultProxy.sent}.
   *
   * @default {false}
   */
  isRecording?: boolean;
}

/** The bytes a recording proxy forwarded, chunk by chunk. */
interface Recording {
  /** Both ways, in the order they passed. */
  both: Uint8Array[];
  /** From clients to the server. */
  up: Uint8Array[];
}

/** The two sockets of one proxied connection. */
interface Link {
  fault: Fault;
  inbound: Deno.Conn;
  /** The server's side: none while connecting, nor for a blackholed connection. */
  outbound?: Deno.Conn;
  isClosed: boolean;
  /** Whether the server's first bytes were forwarded to the client. */
  hasServerSpoken: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 that injects one seeded fault per connection
 * (none by default), cuts connections on demand, and cuts or swallows new
 * ones while its {@linkcode FaultProxy.mode} says so. `await using` closes
 * the listener, every connection and every pending pause, leaving no timer
 * or socket behind.
 *
 * @example
 * ```ts ignore
 * await using proxy = new FaultProxy({ target: serverPort, isRecording: true });
 * const client = new Client({ port: proxy.port });
 * await client.runAction(echo, "hi");
 * proxy.cut(); // The client reconnects through the proxy.
 * proxy.mode = "cut"; // ...and is cut at once, until the mode changes back.
 * ```
 */
export class FaultProxy implements AsyncDisposable {
  /**
   * What happens to the connections accepted from now on; the ones open
   * stay as they are.
   */
  mode: ConnectionMode = "pass";
  /**
   * How many more connections the `"cut"` mode cuts before the mode goes
   * back to `"pass"` by itself (and this back to `Infinity`).
   */
  cutsLeft = Infinity;
  readonly #listener: Deno.Listener;
  readonly #seed: number;
  readonly #weights: FaultWeights;
  readonly #hasLifetimes: boolean;
  readonly #lifetimeAfterHello: number | undefined;
  readonly #links = new Set<Link>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #pauses = new Set<() => void>();
  readonly #accepting: Promise<void>;
  readonly #counts = new Map<FaultKind, number>();
  readonly #recorded: Recording | undefined;
  #target: number;
  #accepted = 0;
  #isDisposed = false;

  constructor(options: FaultProxyOptions) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#seed = options.seed ?? 0;
    this.#target = options.target;
    this.#weights = options.weights ?? NO_FAULTS;
    this.#hasLifetimes = options.hasLifetimes ?? false;
    this.#lifetimeAfterHello = options.lifetimeAfterHello;
    this.#recorded = options.isRecording ? { both: [], up: [] } : undefined;
    this.#accepting = this.#accept();
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** The server's port: new connections go there (for a server restarted on another port). */
  get target(): number {
    return this.#target;
  }

  set target(port: number) {
    this.#target = port;
  }

  /** How many connections got each fault so far. */
  get faultCounts(): ReadonlyMap<FaultKind, number> {
    return this.#counts;
  }

  /** Connections accepted so far, whatever was done with them. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Every byte forwarded so far, both ways, in the order it passed. */
  bytes(): Uint8Array {
    return concat(this.#recording().both);
  }

  /** Every byte forwarded so far from clients to the server. */
  sent(): Uint8Array {
    return concat(this.#recording().up);
  }

  /** Cuts every connection now, as a failing network would; new ones are let through as {@linkcode FaultProxy.mode} says. */
  cut(): void {
    for (const link of [...this.#links]) this.#close(link);
  }

  /** The fault connection `index` gets: the same for the same seed. */
  faultOf(index: number): Fault {
    const mixed = (this.#seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
    return drawFault(seededRandom(mixed), this.#weights);
  }

  #recording(): Recording {
    if (this.#recorded === undefined) {
      throw new Error("the proxy records bytes only with isRecording: true");
    }
    return this.#recorded;
  }

  async #accept(): Promise<void> {
    try {
      for await (const inbound of this.#listener) {
        const index = this.#accepted++;
        if (this.mode === "cut") {
          closeQuietly(inbound);
          if (--this.cutsLeft <= 0) {
            this.mode = "pass";
            this.cutsLeft = Infinity;
          }
          continue;
        }
        const handling = this.#handle(inbound, index);
        this.#handlers.add(handling);
        handling.finally(() => this.#handlers.delete(handling));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #handle(inbound: Deno.Conn, index: number): Promise<void> {
    const fault = this.faultOf(index);
    const link: Link = {
      fault,
      inbound,
      isClosed: false,
      hasServerSpoken: false,
    };
    this.#links.add(link);
    // Held open and never answered, until cut or disposed.
    if (this.mode === "blackhole") return;
    this.#counts.set(fault.kind, (this.#counts.get(fault.kind) ?? 0) + 1);
    let outbound: Deno.Conn;
    try {
      outbound = await Deno.connect({
        hostname: "127.0.0.1",
        port: this.#target,
      });
    } catch {
      this.#close(link);
      return;
    }
    if (link.isClosed || this.#isDisposed) {
      // Cut while connecting.
      closeQuietly(outbound);
      this.#close(link);
      return;
    }
    link.outbound = outbound;
    if (this.#hasLifetimes) {
      this.#pause(fault.lifetime).then(() => this.#close(link));
    }
    await Promise.all([
      this.#pipe(link, inbound, outbound, fault.direction === "up"),
      this.#pipe(link, outbound, inbound, fault.direction === "down"),
    ]);
  }

  /** Forwards one direction, applying the connection's fault when `isFaulty`. */
  async #pipe(
    link: Link,
    from: Deno.Conn,
    to: Deno.Conn,
    isFaulty: boolean,
  ): Promise<void> {
    const { fault } = link;
    if (isFaulty && fault.kind === "batch") {
      return this.#batch(link, from, to, fault.milliseconds);
    }
    const buffer = new Uint8Array(64 * 1024);
    let forwarded = 0;
    // Faults that strike at a byte offset; the others act on time or on every chunk.
    let hasStruck = !isFaulty ||
      !["cut", "stall", "blackhole", "silent", "trickle"].includes(fault.kind);
    let isBlackholed = false;
    try {
      for (;;) {
        const count = await from.read(buffer);
        if (count === null || link.isClosed) break;
        let chunk = buffer.subarray(0, count);
        if (isBlackholed) continue;
        if (isFaulty && fault.kind === "delay") {
          await this.#pause(fault.milliseconds);
        } else if (!hasStruck && forwarded + chunk.length > fault.offset) {
          hasStruck = true;
          const head = chunk.subarray(0, fault.offset - forwarded);
          await this.#forward(link, to, head);
          forwarded += head.length;
          chunk = chunk.subarray(head.length);
          if (fault.kind === "cut") break;
          if (fault.kind === "blackhole" || fault.kind === "silent") {
            isBlackholed = true;
            continue;
          }
          if (fault.kind === "stall") await this.#pause(fault.milliseconds);
          if (fault.kind === "trickle") {
            const slow = chunk.subarray(0, TRICKLE_BYTES);
            for (let i = 0; i < slow.length && !link.isClosed; i++) {
              await this.#forward(link, to, slow.subarray(i, i + 1));
              await this.#pause(TRICKLE_GAP);
            }
            forwarded += slow.length;
            chunk = chunk.subarray(slow.length);
          }
        }
        if (link.isClosed) break;
        await this.#forward(link, to, chunk);
        forwarded += chunk.length;
      }
    } catch {
      // Either side closed, or the proxy closed them.
    }
    this.#close(link);
  }

  /**
   * Forwards one direction in batches: what arrives within `milliseconds`
   * of a batch's first byte goes out in one write, as a network that
   * coalesces segments would deliver it.
   */
  async #batch(
    link: Link,
    from: Deno.Conn,
    to: Deno.Conn,
    milliseconds: number,
  ): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const gathered: Uint8Array[] = [];
    let flushing = Promise.resolve();
    const flush = async () => {
      if (gathered.length > 0 && !link.isClosed) {
        await this.#forward(link, to, concat(gathered.splice(0)));
      }
    };
    try {
      for (;;) {
        const count = await from.read(buffer);
        if (count === null || link.isClosed) break;
        if (gathered.length === 0) {
          flushing = flushing
            .then(() => this.#pause(milliseconds))
            .then(flush)
            .catch(() => this.#close(link));
        }
        gathered.push(buffer.slice(0, count));
      }
    } catch {
      // Either side closed, or the proxy closed them.
    }
    await flushing;
    this.#close(link);
  }

  /** Writes bytes on to one side, recording them when the proxy records. */
  async #forward(link: Link, to: Deno.Conn, bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    if (this.#recorded !== undefined) {
      const copy = bytes.slice();
      this.#recorded.both.push(copy);
      if (to !== link.inbound) this.#recorded.up.push(copy);
    }
    for (let written = 0; written < bytes.length;) {
      written += await to.write(bytes.subarray(written));
    }
    if (to === link.inbound) this.#serverSpoke(link);
  }

  /** The server's first bytes reached the client: its lifetime after the hello starts. */
  #serverSpoke(link: Link): void {
    if (link.hasServerSpoken) return;
    link.hasServerSpoken = true;
    const lifetime = this.#lifetimeAfterHello;
    if (lifetime !== undefined) {
      this.#pause(lifetime).then(() => this.#close(link));
    }
  }

  /** Waits, or stops waiting as soon as the proxy is disposed. */
  #pause(milliseconds: number): Promise<void> {
    if (this.#isDisposed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, milliseconds);
      this.#pauses.add(done);
    });
  }

  #close(link: Link): void {
    if (link.isClosed) return;
    link.isClosed = true;
    this.#links.delete(link);
    closeQuietly(link.inbound);
    if (link.outbound !== undefined) closeQuietly(link.outbound);
  }

  /** Closes the listener and every connection, ends every pause, and waits for the forwarding to stop. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#isDisposed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    for (const link of [...this.#links]) this.#close(link);
    for (const done of [...this.#pauses]) done();
    while (this.#handlers.size > 0) {
      for (const done of [...this.#pauses]) done();
      await Promise.all([...this.#handlers]);
    }
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
