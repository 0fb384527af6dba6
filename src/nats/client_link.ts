/**
 * A client's way to a service over NATS: what `new Client({ transport: bus })`
 * sends its calls through. Its calls are the session's
 * {@linkcode OutgoingCalls} (ids, deadlines, aborts, metadata, streamed
 * results and inputs with credit), sent here as NATS messages: a call's
 * first message to the action's subject (the queue group picks an
 * instance), with the reply subject `<inbox>.<id>`; everything after it to
 * the instance that took the call, which the instance names in the reply
 * subject of what it sends. No server → `UNAVAILABLE` at once (NATS's no
 * responders); a server that goes silent → `CONNECTION_CLOSED` (PROTOCOL.md,
 * "Over NATS"). What comes back is {@linkcode LinkInbox}'s to take in; each
 * call's route and liveness are client_routes.ts's.
 *
 * What a client's link does with each message an instance sends about its
 * calls over NATS (PROTOCOL.md, "Over NATS", "A call"): NATS's no-responders
 * answer fails the call, anything else tells which instance runs it and
 * goes, decoded and reassembled, to the session's {@linkcode OutgoingCalls},
 * as in a session.
 *
 * @module
 */

import { type Deadline, setupEnds } from "../base/deadline.ts";
import { ClientError, type ProtocolError } from "../base/errors.ts";
import { every } from "../base/timers.ts";
import type { StreamOptions } from "../dispatch/peer.ts";
import { MessageType } from "../protocol/message_type.ts";
import {
  type Message,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import { wireError } from "../protocol/wire_error.ts";
import {
  type CallsConnection,
  type CallsOut,
  OutgoingCalls,
  type SentOptions,
  type StreamCall,
} from "../session/outgoing_calls.ts";
import type { MessageOut, PeerFeatures } from "../session/connection.ts";
import {
  actionSubject,
  BUS_FEATURES,
  type BusConnection,
  type BusMessage,
  BusOutbox,
  type BusSubscription,
  cancelSubject,
} from "./bus.ts";
import type { ClientLink, LinkSetup } from "../endpoint/client_transport.ts";
import type { StreamOpener } from "../endpoint/resend.ts";
import {
  CallRoutes,
  type CallRoutesPort,
  closedError,
  noResponders,
  wentSilent,
} from "./client_routes.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import { Reassembly } from "../session/reassembly.ts";

/** Where a link's calls go. */
export interface LinkTarget {
  /** The NATS connection, once open. */
  readonly connection: Promise<BusConnection>;
  /** The subjects' prefix. */
  readonly prefix: string;
  /** The service name. */
  readonly service: string;
  /** Milliseconds between liveness messages. */
  readonly heartbeat: number;
}

/** The connected part of a link: its inbox and outbox. */
interface Open {
  readonly bus: BusConnection;
  readonly outbox: BusOutbox;
  readonly inbox: string;
  readonly subscription: BusSubscription;
  /** Stops the connect and disconnect events. */
  readonly unwatch: () => void;
}

/** A client's link to a service over NATS. */
export class NatsLink
  implements ClientLink, StreamOpener, CallsConnection, CallsOut {
  /** What a bus peer takes: no batches, answers' metadata. */
  readonly features: PeerFeatures = BUS_FEATURES;
  /** The link sends its calls' messages itself. */
  readonly out: CallsOut = this;
  /** How many tries a dropped idempotent call gets. */
  readonly attempts: number;
  readonly #target: LinkTarget;
  readonly #setup: LinkSetup;
  readonly #calls: OutgoingCalls;
  readonly #routes = new CallRoutes();
  readonly #inbox: LinkInbox;
  readonly #closing = new AbortController();
  /** Each action's subject, made once. */
  readonly #subjects = new Map<string, string>();
  #open: Open | undefined;
  #opening: Promise<Open> | undefined;
  #stopTicker: (() => void) | undefined;
  /** The request being encoded, between `encodeChecked` and `sendData`. */
  #request: { id: number; action: string } | undefined;
  /** Fails the calls whose instance went silent, pings the others'. */
  readonly #liveness: CallRoutesPort = {
    silent: (id, route, silence) =>
      this.#calls.cancel(
        id,
        wentSilent(
          route,
          silence,
          this.#target.heartbeat,
          !this.#open!.bus.isConnected,
        ),
      ),
    ping: (id, instance) => {
      const open = this.#open!;
      open.outbox.sendControl(
        instance,
        outgoing.ping(id),
        `${open.inbox}.${id}`,
      );
    },
  };
  #isClosed = false;

  /**
   * @param target The service and the connection.
   * @param setup The client's codec, limits, retries and events.
   */
  constructor(target: LinkTarget, setup: LinkSetup) {
    this.#target = target;
    this.#setup = setup;
    this.attempts = setup.attempts;
    this.#calls = new OutgoingCalls(this);
    this.#inbox = new LinkInbox(
      this.#calls,
      this.#routes,
      setup.codec,
      target.service,
      setup.maxFrameSize,
    );
  }

  /** Whether the link was closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Whether the NATS connection is up. */
  get isConnected(): boolean {
    return this.#open?.bus.isConnected ?? false;
  }

  /** {@inheritDoc Redial.call} */
  call(name: string, data: unknown, options: SentOptions): Promise<unknown> {
    if (this.#open !== undefined) return this.#calls.call(name, data, options);
    // Connecting counts against the call's deadline.
    return this.connected(options).then(() =>
      this.#calls.call(name, data, options)
    );
  }

  /** {@inheritDoc StreamOpener.openStream} */
  openStream(
    name: string,
    data: unknown,
    options?: StreamOptions,
  ): StreamCall {
    return this.#calls.openStream(name, data, options);
  }

  /** {@inheritDoc ClientLink.connected} */
  connected(options?: SentOptions): Promise<StreamOpener> {
    if (this.#open !== undefined) return Promise.resolve(this);
    if (this.#isClosed) return Promise.reject(closedError(false));
    this.#opening ??= this.#connect();
    const opening = this.#opening.then(() => this as StreamOpener);
    const deadline = options?.deadline;
    return deadline === undefined
      ? opening
      : deadline.race(opening, setupEnds(deadline));
  }

  /** {@inheritDoc Redial.pause} */
  pause(attempt: number, deadline?: Deadline): Promise<void> {
    return this.#setup.backoff.pause(attempt, deadline, this.#closing.signal);
  }

  /** {@inheritDoc ClientLink.close} */
  close(): Promise<void> {
    if (this.#isClosed) return Promise.resolve();
    this.#isClosed = true;
    this.#closing.abort();
    this.#calls.failAll(closedError("maybe"));
    const open = this.#open;
    for (const [id, route] of this.#routes.entries()) {
      route.drop();
      // The instances running our calls stop them now, not at the silence.
      if (open !== undefined && route.instance !== undefined) {
        open.outbox.sendControl(
          route.instance,
          outgoing.cancel(id),
          `${open.inbox}.${id}`,
        );
      }
    }
    this.#routes.clear();
    this.#inbox.clear();
    this.#stopTicker?.();
    this.#open = undefined;
    if (open === undefined) return Promise.resolve();
    open.unwatch();
    try {
      open.subscription.unsubscribe();
    } catch {
      // The connection is closed already.
    }
    this.#setup.events.disconnect(undefined);
    return open.bus.flush().catch(() => {});
  }

  async #connect(): Promise<Open> {
    let bus: BusConnection;
    try {
      bus = await this.#target.connection;
    } catch (error) {
      this.#opening = undefined;
      this.#setup.events.error(error as Error);
      throw error;
    }
    if (this.#isClosed) throw closedError(false);
    const inbox = bus.newInbox();
    const subscription = bus.subscribe(`${inbox}.*`, {
      callback: (message) => this.#inbox.receive(message),
    });
    const outbox = new BusOutbox(
      bus,
      this.#setup.codec,
      this.#setup.maxFrameSize,
    );
    const { events } = this.#setup;
    const unwatch = bus.watch((isConnected) => {
      if (isConnected) events.connect();
      else events.disconnect(undefined);
    });
    this.#open = { bus, outbox, inbox, subscription, unwatch };
    const heartbeat = this.#target.heartbeat;
    this.#stopTicker = every(
      Math.max(1, Math.floor(heartbeat / 2)),
      () => this.#tick(),
    );
    // The inbox must be subscribed before the first answer can come.
    await bus.flush().catch(() => {});
    this.#setup.events.connect();
    return this.#open;
  }

  // --- CallsOut: how OutgoingCalls' messages go on the bus ---

  /** {@inheritDoc MessageOut.encodeChecked} */
  encodeChecked(message: OutgoingMessage, what: string): Uint8Array[] {
    const parts = this.#open!.outbox.encodeChecked(message, what);
    if (message[0] === MessageType.REQUEST) {
      this.#request = {
        id: message[1] as number,
        action: message[2] as string,
      };
    }
    return parts;
  }

  /** Sends a request: its first payload to the action's subject, the rest once an instance took it. */
  sendData(parts: Uint8Array[]): void {
    const request = this.#request!;
    this.#request = undefined;
    const { id, action } = request;
    const open = this.#open!;
    const route = this.#routes.open(id, action, Date.now());
    const reply = `${open.inbox}.${id}`;
    try {
      const payloads = open.outbox.split(parts, id);
      open.bus.publish(this.#subject(action), payloads[0], reply);
      for (let i = 1; i < payloads.length; i++) {
        const payload = payloads[i];
        route.toInstance((instance) => {
          try {
            open.bus.publish(instance, payload, reply);
          } catch {
            // The connection is closed: the call's liveness check fails it.
          }
        });
      }
    } catch (error) {
      this.#routes.forget(id);
      this.#calls.take(id)?.fail(
        error instanceof ClientError ? error : new ClientError(
          "CONNECTION_CLOSED",
          `The call to "${action}" could not be sent: ${
            (error as Error).message
          }`,
          { cause: error, wasRun: false },
        ),
      );
    }
  }

  /** {@inheritDoc MessageOut.sendIfOpen} */
  sendIfOpen(message: OutgoingMessage): void {
    const open = this.#open;
    if (open === undefined) return;
    const id = message[1] as number;
    const route = this.#routes.get(id);
    if (route === undefined) return;
    const reply = `${open.inbox}.${id}`;
    if (message[0] === MessageType.CANCEL) {
      this.#routes.forget(id);
      // Before an instance said it took the call, every instance hears the cancel.
      open.outbox.sendControl(
        route.instance ??
          cancelSubject(this.#target.prefix, this.#target.service),
        message,
        reply,
      );
      return;
    }
    route.toInstance((instance) => {
      route.lastSent = Date.now();
      open.outbox.sendControl(instance, message, reply);
    });
  }

  /** {@inheritDoc MessageOut.sendChecked} */
  sendChecked(message: OutgoingMessage): void | Promise<void> {
    const open = this.#open;
    if (open === undefined) return;
    const id = message[1] as number;
    const route = this.#routes.get(id);
    if (route === undefined) return;
    const parts = open.outbox.encodeChecked(message, "A stream item");
    const reply = `${open.inbox}.${id}`;
    const send = (instance: string) => {
      route.lastSent = Date.now();
      try {
        open.outbox.send(instance, parts, reply, id);
      } catch {
        // The connection is closed: the call's liveness check fails it.
      }
    };
    if (route.instance !== undefined) return send(route.instance);
    // The input waits for the instance; a call over before is sent nothing.
    return route.instanceKnown().then((instance) => {
      if (instance !== undefined) send(instance);
    });
  }

  /** {@inheritDoc MessageOut.wireError} */
  wireError(
    code: string,
    thrown: unknown,
  ): ReturnType<MessageOut["wireError"]> {
    return wireError(code, thrown, true);
  }

  // --- CallsConnection ---

  /** {@inheritDoc ConnectionContext.callError} */
  callError(): ClientError {
    return closedError(false);
  }

  /** Nothing to keep alive: the NATS connection is the bus's. */
  busy(): void {}

  /** Nothing to let go. */
  quiet(): void {}

  /** Nothing to do. */
  settled(): void {}

  /**
   * The server broke the protocol for one call: it fails with `PROTOCOL`.
   *
   * @param error What went wrong.
   */
  failProtocol(error: ProtocolError): void {
    this.#inbox.failProtocol(error);
  }

  /** Never blocked: NATS takes what is published. */
  blocked(): Promise<void> | undefined {
    return undefined;
  }

  /** The subject of an action's calls. */
  #subject(action: string): string {
    let subject = this.#subjects.get(action);
    if (subject === undefined) {
      subject = actionSubject(
        this.#target.prefix,
        this.#target.service,
        action,
      );
      if (this.#subjects.size < 1024) this.#subjects.set(action, subject);
    }
    return subject;
  }

  /**
   * Fails calls whose server went silent, and tells the instances of the
   * others that this side is there (client_routes.ts).
   */
  #tick(): void {
    if (this.#open === undefined) return;
    this.#routes.tick(Date.now(), this.#target.heartbeat, this.#liveness);
  }
}

/**
 * The inbox of a client's link: `<inbox>.<id>` for each call.
 *
 * @example
 * ```ts
 * import { LinkInbox } from "./client_link.ts";
 * import { BUS_FEATURES } from "./bus.ts";
 * import { CallRoutes } from "./client_routes.ts";
 * import { ClientError } from "../base/errors.ts";
 * import { MessageCodec } from "../protocol/message_codec.ts";
 * import { OutgoingCalls } from "../session/outgoing_calls.ts";
 * import assert from "node:assert/strict";
 *
 * const calls = new OutgoingCalls({
 *   features: BUS_FEATURES,
 *   out: {
 *     isClosed: false,
 *     encodeChecked: () => [],
 *     sendData() {}, sendIfOpen() {}, sendChecked() {},
 *     wireError: (code) => ({ code, name: "Error", message: "" }),
 *   },
 *   callError: () => new ClientError("CONNECTION_CLOSED", "closed"),
 *   busy() {}, quiet() {}, settled() {}, failProtocol() {}, blocked: () => undefined,
 * });
 * const routes = new CallRoutes();
 * const inbox = new LinkInbox(calls, routes, new MessageCodec([]), "lab", 1 << 20);
 * const answer = calls.call("add", [1, 2]);
 * routes.open(1, "add", Date.now());
 * inbox.receive({
 *   subject: "_INBOX.x.1", reply: undefined, data: new Uint8Array(), status: 503,
 * });
 * await assert.rejects(answer, { code: "UNAVAILABLE" });
 * assert.equal(routes.size, 0);
 * ```
 */
export class LinkInbox {
  readonly #calls: OutgoingCalls;
  readonly #routes: CallRoutes;
  readonly #codec: MessageCodec;
  readonly #service: string;
  readonly #reassembly: Reassembly;
  /** The call whose message is being routed, for a protocol failure. */
  #routing: number | undefined;

  /**
   * @param calls The link's calls.
   * @param routes Their routes.
   * @param codec The codec, with the client's extensions.
   * @param service The service name, for messages.
   * @param maxFrameSize The largest message taken, in pieces or not.
   */
  constructor(
    calls: OutgoingCalls,
    routes: CallRoutes,
    codec: MessageCodec,
    service: string,
    maxFrameSize: number,
  ) {
    this.#calls = calls;
    this.#routes = routes;
    this.#codec = codec;
    this.#service = service;
    this.#reassembly = new Reassembly(
      { maxFrameSize },
      { isCongested: false, failProtocol: (error) => this.failProtocol(error) },
    );
  }

  /**
   * A message came on the inbox.
   *
   * @param message The message; its subject ends with the call's id.
   */
  receive(message: BusMessage): void {
    const subject = message.subject;
    const id = Number(subject.slice(subject.lastIndexOf(".") + 1));
    const route = this.#routes.get(id);
    if (route === undefined) return; // An answer nobody waits for now.
    if (message.status === 503) {
      this.#routes.forget(id);
      this.#calls.take(id)?.fail(noResponders(route, this.#service));
      return;
    }
    route.lastHeard = Date.now();
    if (message.reply !== undefined) route.learn(message.reply);
    if (message.data.length === 0) return;
    let decoded: Message;
    try {
      decoded = this.#codec.decode(message.data);
    } catch (error) {
      this.#routes.forget(id);
      this.#calls.cancel(
        id,
        new ClientError("PROTOCOL", (error as Error).message, { cause: error }),
      );
      return;
    }
    this.#route(decoded, id);
  }

  /**
   * The server broke the protocol for the call being routed: it fails with
   * `PROTOCOL`.
   *
   * @param error What went wrong.
   */
  failProtocol(error: ProtocolError): void {
    const id = this.#routing;
    if (id === undefined) return;
    this.#calls.cancel(
      id,
      new ClientError("PROTOCOL", error.message, { cause: error }),
    );
  }

  /** Drops the pieces of large messages gathered so far (the link closed). */
  clear(): void {
    this.#reassembly.clear();
  }

  #route(message: Message, id: number, isReassembled = false): void {
    this.#routing = id;
    try {
      if (message.type === MessageType.FRAGMENT) {
        const whole = this.#reassembly.add(message, isReassembled);
        if (whole === undefined) return;
        return this.#route(this.#codec.decode(whole), id, true);
      }
      if (deliver(this.#calls, message, id)) this.#routes.forget(id);
    } catch (error) {
      this.#routes.forget(id);
      this.#calls.cancel(
        id,
        error instanceof ClientError
          ? error
          : new ClientError("PROTOCOL", (error as Error).message, {
            cause: error,
          }),
      );
    } finally {
      this.#routing = undefined;
    }
  }
}

/**
 * Hands a whole message (not a fragment) from an instance to its call.
 *
 * @param calls The caller's calls.
 * @param message The message.
 * @param id The call's request id, from the subject it came on.
 * @returns Whether it was the call's last message.
 * @throws {ClientError} `PROTOCOL` for a message an instance never sends.
 */
export function deliver(
  calls: OutgoingCalls,
  message: Message,
  id: number,
): boolean {
  switch (message.type) {
    case MessageType.RESULT:
      calls.result(message);
      return true;
    case MessageType.ERROR:
      calls.error(id, message.error, message);
      return true;
    case MessageType.END:
      calls.end(message);
      return true;
    case MessageType.ITEM:
      calls.item(message);
      return false;
    case MessageType.INPUT_CREDIT:
      calls.grantInput(id, message.count);
      return false;
    case MessageType.INPUT_STOP:
      calls.stopInput(id);
      return false;
    case MessageType.PING:
      return false; // Still running.
    default:
      throw new ClientError(
        "PROTOCOL",
        `Message type ${message.type} is not sent to a caller over NATS.`,
      );
  }
}
