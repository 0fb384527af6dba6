/**
 * What a client's link does with each message an instance sends about its
 * calls over NATS (PROTOCOL.md, "Over NATS", "A call"): NATS's no-responders
 * answer fails the call, anything else tells which instance runs it and
 * goes, decoded and reassembled, to the session's {@linkcode OutgoingCalls},
 * as in a session.
 *
 * @module
 */

import { ClientError, type ProtocolError } from "../base/errors.ts";
import type { MessageCodec } from "../protocol/message_codec.ts";
import type { Message } from "../protocol/message_table.ts";
import { MessageType } from "../protocol/message_type.ts";
import type { OutgoingCalls } from "../session/outgoing_calls.ts";
import { Reassembly } from "../session/reassembly.ts";
import type { BusMessage } from "./bus.ts";
import { noResponders } from "./call_route.ts";
import type { CallRoutes } from "./call_routes.ts";

/**
 * The inbox of a client's link: `<inbox>.<id>` for each call.
 *
 * @example
 * ```ts
 * import { CallerInbox } from "./caller_inbox.ts";
 * import { BUS_FEATURES } from "./bus.ts";
 * import { CallRoutes } from "./call_routes.ts";
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
 * const inbox = new CallerInbox(calls, routes, new MessageCodec([]), "lab", 1 << 20);
 * const answer = calls.call("add", [1, 2]);
 * routes.open(1, "add", Date.now());
 * inbox.receive({
 *   subject: "_INBOX.x.1", reply: undefined, data: new Uint8Array(), status: 503,
 * });
 * await assert.rejects(answer, { code: "UNAVAILABLE" });
 * assert.equal(routes.size, 0);
 * ```
 */
export class CallerInbox {
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
