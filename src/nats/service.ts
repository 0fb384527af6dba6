/**
 * One server instance of a service over NATS: it takes calls from the
 * service's queue group, hears the later messages of its calls on its own
 * control subject (and cancels on the service's cancel subject), runs them
 * through one {@linkcode ServiceCaller} per client inbox, keeps them alive with
 * heartbeats, answers discovery, and drains at shutdown (PROTOCOL.md,
 * "Over NATS"). Anyone on the bus can reach it, so what it holds is bounded
 * per instance: the callers it keeps, the calls it runs, the bytes of the
 * large messages it gathers.
 *
 * @module
 */

import { ClientError, RemoteError } from "../base/errors.ts";
import { every, ignore } from "../base/timers.ts";
import { Peer, type PeerConnection } from "../dispatch/peer.ts";
import { isCount } from "../protocol/malformed.ts";
import { type Message, outgoing } from "../protocol/message_table.ts";
import { MessageType } from "../protocol/message_type.ts";
import type {
  ServedEndpoint,
  ServingTransport,
} from "../endpoint/server_transport.ts";
import { stopRunning } from "../endpoint/server_connections.ts";
import {
  type BusConnection,
  type BusMessage,
  BusOutbox,
  type BusSubscription,
  cancelSubject,
  IDLE_CALLER_HEARTBEATS,
  instanceSubject,
  serviceSubject,
} from "./bus.ts";
import { type CallerHost, OpenCalls, ServiceCaller } from "./service_caller.ts";
import type { DiscoverableService } from "./micro_responses.ts";
import { answerDiscovery, describeInstance } from "./service_discovery.ts";
import type { ReassemblyBudget } from "../session/reassembly.ts";

/** A service's settings on the bus, read from `natsTransport`'s options. */
export interface BusSettings {
  /** The service name. */
  readonly service: string;
  /** The queue group its instances share. */
  readonly queue: string;
  /** The subjects' prefix. */
  readonly prefix: string;
  /** Milliseconds between liveness messages. */
  readonly heartbeat: number;
  /** The most client inboxes an instance keeps a state for. */
  readonly maxCallers: number;
  /** The most calls an instance runs at once. */
  readonly maxCalls: number;
  /** The most bytes an instance holds for large messages in pieces. */
  readonly maxReassemblyBytes: number;
  /** The service's version, for discovery. */
  readonly version: string;
  /** A line about the service, for discovery. */
  readonly description: string;
  /** Strings about the service, for discovery. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Where and how an instance serves. */
export interface ServiceSetup extends BusSettings {
  /** The NATS connection. */
  readonly bus: BusConnection;
}

/** A service instance serving a server's actions on the bus. */
export class NatsService implements ServingTransport, CallerHost {
  /** This instance's id: random, one per `server.listen(bus)`. */
  readonly id: string = instanceId();
  /** Sends on the bus. */
  readonly outbox: BusOutbox;
  /** This instance's control subject. */
  readonly instanceSubject: string;
  /** The peer handlers see: a bus has no connection to call back over. */
  readonly peer: Peer;
  /** Whether error stacks go to callers. */
  readonly exposeStack: boolean;
  /** Milliseconds between liveness messages. */
  readonly heartbeat: number;
  /** Every caller's open calls. */
  readonly openCalls: OpenCalls = new OpenCalls();
  /** The bytes every caller's large messages in pieces hold. */
  readonly reassemblyBudget: ReassemblyBudget;
  readonly #setup: ServiceSetup;
  readonly #served: ServedEndpoint;
  readonly #callers = new Map<string, ServiceCaller>();
  /** The callers with no open call, by inbox, longest idle first. */
  readonly #idle = new Map<string, { caller: ServiceCaller; since: number }>();
  #reassemblyBytes = 0;
  readonly #subscriptions: BusSubscription[] = [];
  #calls: BusSubscription | undefined;
  #stopTicker: (() => void) | undefined;
  #discovery: { stop(): Promise<void> } | undefined;
  #isRefusing = false;
  #closing: Promise<void> | undefined;

  /**
   * Serves `served` on the bus; call {@linkcode NatsService.start} next.
   *
   * @param setup Where and how.
   * @param served What the server serves with.
   */
  constructor(setup: ServiceSetup, served: ServedEndpoint) {
    this.#setup = setup;
    this.#served = served;
    const { endpoint } = served;
    this.outbox = new BusOutbox(
      setup.bus,
      endpoint.codec,
      endpoint.limits.maxFrameSize,
    );
    this.instanceSubject = instanceSubject(
      setup.prefix,
      setup.service,
      this.id,
    );
    this.exposeStack = endpoint.exposeStack ?? false;
    this.heartbeat = setup.heartbeat;
    this.reassemblyBudget = {
      reserve: (bytes) => {
        const limit = setup.maxReassemblyBytes;
        if (this.#reassemblyBytes + bytes > limit) {
          throw new RemoteError(
            "OVERLOADED",
            `The server holds ${limit} bytes of large messages in pieces already (maxReassemblyBytes); try again later.`,
          );
        }
        this.#reassemblyBytes += bytes;
      },
      release: (bytes) => {
        this.#reassemblyBytes -= bytes;
      },
    };
    this.peer = new Peer(NO_CALLBACKS, {
      hostname: setup.service,
      port: 0,
      transport: "tcp",
    });
  }

  /** Whether the instance refuses new calls (it is shutting down). */
  get isRefusing(): boolean {
    return this.#isRefusing;
  }

  /**
   * Subscribes and starts the heartbeats; resolves once the NATS server
   * has the subscriptions, so calls can arrive.
   *
   * @returns Resolves when serving.
   */
  async start(): Promise<void> {
    const { bus, prefix, service, queue, heartbeat } = this.#setup;
    this.#subscriptions.push(
      bus.subscribe(this.instanceSubject, {
        callback: (message) => this.#onControl(message, false),
      }),
      bus.subscribe(cancelSubject(prefix, service), {
        callback: (message) => this.#onControl(message, true),
      }),
    );
    this.#calls = bus.subscribe(serviceSubject(prefix, service), {
      queue,
      callback: (message) => this.#onCall(message),
    });
    this.#stopTicker = every(
      Math.max(1, Math.floor(heartbeat / 2)),
      () => this.#tick(),
    );
    this.#discovery = answerDiscovery(bus, this.discovered());
    await bus.flush();
  }

  /**
   * What discovery tells of this instance.
   *
   * @returns Its name, id, endpoints and stats.
   */
  discovered(): DiscoverableService {
    return describeInstance(
      { ...this.#setup, id: this.id },
      this.#served.endpoint.actions,
      () => this.#served.stats(),
    );
  }

  /** {@inheritDoc ServingTransport.close} */
  close(timeout: number): Promise<void> {
    this.#closing ??= this.#close(timeout);
    return this.#closing;
  }

  async #close(timeout: number): Promise<void> {
    const until = Date.now() + timeout;
    this.#isRefusing = true;
    // Calls already delivered are refused unrun; their callers send them again.
    await this.#calls?.drain().catch(ignore);
    await this.#discovery?.stop().catch(ignore);
    // The calls running get what is left of the timeout; then they are
    // given up on (their signals abort), with a short grace to return.
    await stopRunning(
      [...this.#callers.values()].map((caller) => caller.requests),
      Math.max(0, until - Date.now()),
    );
    const reason = new ClientError(
      "CONNECTION_CLOSED",
      "The server shut down while the call ran.",
    );
    this.openCalls.clear();
    for (const caller of this.#callers.values()) caller.close(reason);
    this.#callers.clear();
    this.#idle.clear();
    this.#stopTicker?.();
    for (const subscription of this.#subscriptions) {
      try {
        subscription.unsubscribe();
      } catch {
        // The connection is closed already: nothing is subscribed.
      }
    }
    await this.#setup.bus.flush().catch(ignore);
  }

  /** The first message of a call, from the queue group. */
  #onCall(message: BusMessage): void {
    const reply = message.reply;
    if (reply === undefined) return; // Nowhere to answer.
    const route = parseReply(reply);
    if (route === undefined) return;
    const decoded = this.#decode(message, reply, route.id);
    if (decoded === undefined) return;
    if (this.#isRefusing && decoded.type === MessageType.FRAGMENT) {
      return this.outbox.sendControl(
        reply,
        outgoing.error(route.id, {
          code: "CONNECTION_CLOSED",
          name: "ClientError",
          message: "The server is shutting down; the action did not run.",
        }),
      );
    }
    const { maxCalls } = this.#setup;
    if (this.openCalls.size >= maxCalls) {
      return this.#overloaded(
        reply,
        route.id,
        `The server runs ${maxCalls} calls already (maxCalls)`,
      );
    }
    const caller = this.#callers.get(route.inbox) ??
      this.#newCaller(route.inbox);
    if (caller === undefined) {
      return this.#overloaded(
        reply,
        route.id,
        `The server serves ${this.#setup.maxCallers} callers with calls open already (maxCallers)`,
      );
    }
    this.#idle.delete(route.inbox);
    caller.first(decoded, route.id);
    // A call refused at once leaves the caller idle.
    if (caller.openCalls === 0) this.idle(caller);
  }

  /** {@inheritDoc CallerHost.idle} */
  idle(caller: ServiceCaller): void {
    this.#idle.delete(caller.inbox);
    this.#idle.set(caller.inbox, { caller, since: Date.now() });
  }

  /**
   * A state for a new client inbox, room made by dropping the longest idle
   * caller; `undefined` when every caller kept has calls open.
   */
  #newCaller(inbox: string): ServiceCaller | undefined {
    if (this.#callers.size >= this.#setup.maxCallers) {
      const oldest = this.#idle.keys().next();
      if (oldest.done) return undefined;
      this.#drop(oldest.value);
    }
    const { endpoint } = this.#served;
    const caller = new ServiceCaller(inbox, this, {
      actions: endpoint.actions.find,
      maxInFlight: endpoint.limits.maxInFlight,
      exposeStack: this.exposeStack,
      stats: endpoint.stats,
      middleware: endpoint.middleware,
    }, endpoint.limits.maxFrameSize);
    this.#callers.set(inbox, caller);
    return caller;
  }

  #drop(inbox: string): void {
    this.#idle.delete(inbox);
    this.#callers.get(inbox)?.close(CALLER_DROPPED);
    this.#callers.delete(inbox);
  }

  /** Refuses a call, unrun: the instance has no room for it. */
  #overloaded(reply: string, id: number, why: string): void {
    this.outbox.sendControl(
      reply,
      outgoing.error(id, {
        code: "OVERLOADED",
        name: "RemoteError",
        message: `${why}; the action did not run. Try again later.`,
      }),
    );
  }

  /** A later message of a call (or a cancel sent to every instance). */
  #onControl(message: BusMessage, isBroadcast: boolean): void {
    const reply = message.reply;
    if (reply === undefined) return;
    const route = parseReply(reply);
    if (route === undefined) return;
    const caller = this.#callers.get(route.inbox);
    if (caller === undefined) return; // Not a call of this instance.
    const decoded = this.#decode(message, reply, route.id);
    if (decoded === undefined) return;
    if (isBroadcast && decoded.type !== MessageType.CANCEL) return;
    caller.later(decoded, route.id);
  }

  /** Decodes a message; one that breaks the protocol fails its call. */
  #decode(
    message: BusMessage,
    reply: string,
    id: number,
  ): Message | undefined {
    try {
      return this.outbox.codec.decode(message.data);
    } catch (error) {
      this.outbox.sendControl(
        reply,
        outgoing.error(id, {
          code: "PROTOCOL",
          name: "RemoteError",
          message: (error as Error).message,
        }),
      );
      return undefined;
    }
  }

  /**
   * The instance's one liveness timer: it looks only at the calls and the
   * idle callers whose time has come (both kept in time order).
   */
  #tick(): void {
    const now = Date.now();
    this.openCalls.tick(now, this.heartbeat);
    const idle = IDLE_CALLER_HEARTBEATS * this.heartbeat;
    for (const [inbox, { caller, since }] of this.#idle) {
      if (now - since <= idle) break;
      if (caller.isIdle) this.#drop(inbox);
      // A handler still runs after its call was stopped: look again later.
      else this.idle(caller);
    }
  }
}

const CALLER_DROPPED = new ClientError(
  "CONNECTION_CLOSED",
  "The caller went idle and its state was dropped.",
);

/** A call's reply subject, `<inbox>.<id>`, taken apart. */
function parseReply(
  reply: string,
): { inbox: string; id: number } | undefined {
  const dot = reply.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const id = Number(reply.slice(dot + 1));
  if (!isCount(id)) return undefined;
  return { inbox: reply.slice(0, dot), id };
}

/** A random instance id: 22 characters of [0-9a-z]. */
function instanceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  let id = "";
  for (const byte of bytes) id += (byte % 36).toString(36);
  return id;
}

/** Handlers cannot call back over a bus: there is no connection to the caller. */
const NO_CALLBACKS: PeerConnection = {
  identity: undefined,
  isOpen: false,
  call: () => Promise.reject(noCallbacks()),
  openStream: () => {
    const error = noCallbacks();
    return {
      receiver: {
        next: () => Promise.reject(error),
        [Symbol.asyncIterator]() {
          return this;
        },
      },
    };
  },
};

function noCallbacks(): ClientError {
  return new ClientError(
    "CONNECTION_CLOSED",
    "A call that came over NATS cannot call its caller back: there is no connection to it.",
    { wasRun: false },
  );
}
