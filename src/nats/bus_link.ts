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
 * "Over NATS"). What comes back is caller_inbox.ts's to take in; each
 * call's route and liveness are call_routes.ts's.
 *
 * @module
 */

import { ClientError, type ProtocolError } from "../base/errors.ts";
import { every } from "../base/timers.ts";
import type { CallOptions, StreamOptions } from "../dispatch/peer.ts";
import { MessageType } from "../protocol/message_type.ts";
import { outgoing, type OutgoingMessage } from "../protocol/message_table.ts";
import { wireError } from "../protocol/wire_error.ts";
import {
  type CallsConnection,
  type CallsOut,
  OutgoingCalls,
  type StreamCall,
} from "../session/outgoing_calls.ts";
import type { MessageOut, PeerFeatures } from "../session/connection.ts";
import {
  BUS_FEATURES,
  type BusConnection,
  type BusSubscription,
} from "./bus.ts";
import { pause } from "../endpoint/backoff.ts";
import { withinCall } from "../endpoint/call_deadline.ts";
import type { ClientLink } from "../endpoint/client_link.ts";
import type { LinkSetup } from "../endpoint/client_transport.ts";
import { remainingTime, type StreamOpener } from "../endpoint/resend.ts";
import { BusOutbox } from "./bus_outbox.ts";
import { closedError, wentSilent } from "./call_route.ts";
import { CallRoutes, type CallRoutesPort } from "./call_routes.ts";
import { CallerInbox } from "./caller_inbox.ts";
import { actionSubject, cancelSubject } from "./subjects.ts";

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
export class BusLink
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
  readonly #inbox: CallerInbox;
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
    this.#inbox = new CallerInbox(
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
  call(name: string, data: unknown, options?: CallOptions): Promise<unknown> {
    if (this.#open !== undefined) return this.#calls.call(name, data, options);
    // Connecting counts against the call's deadline.
    const started = performance.now();
    return this.connected(options).then(() =>
      this.#calls.call(name, data, remainingTime(options, started))
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
  connected(options?: CallOptions): Promise<StreamOpener> {
    if (this.#open !== undefined) return Promise.resolve(this);
    if (this.#isClosed) return Promise.reject(closedError(false));
    this.#opening ??= this.#connect();
    const opening = this.#opening.then(() => this as StreamOpener);
    if (!options?.timeout && options?.signal === undefined) return opening;
    return withinCall(opening, options);
  }

  /** {@inheritDoc Redial.pause} */
  pause(attempt: number, limit?: number): Promise<void> {
    const wait = this.#setup.backoff.delay(attempt);
    return pause(
      limit === undefined ? wait : Math.min(wait, limit),
      this.#closing.signal,
    );
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
   * others that this side is there (call_routes.ts).
   */
  #tick(): void {
    if (this.#open === undefined) return;
    this.#routes.tick(Date.now(), this.#target.heartbeat, this.#liveness);
  }
}
