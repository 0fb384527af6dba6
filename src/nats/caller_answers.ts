/**
 * How an instance answers one caller's calls over NATS (PROTOCOL.md, "Over
 * NATS", "A call"): each answer goes to the call's reply subject
 * `<inbox>.<id>`, in pieces when large, with the instance's control subject
 * as its reply subject when the caller may send more; a result or error
 * that cannot be encoded goes as an error that can. Each message sent
 * mid-call names the instance to the caller (open_calls.ts).
 *
 * @module
 */

import { ClientError, CodecError } from "../base/errors.ts";
import { MessageType } from "../protocol/message_type.ts";
import {
  safeString,
  type WireError,
  wireError,
} from "../protocol/wire_error.ts";
import {
  type AnswerMeta,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import type { Metadata } from "../protocol/metadata.ts";
import type { RequestsOut } from "../session/incoming_requests.ts";
import type { BusOutbox } from "./bus_outbox.ts";

/** What {@linkcode CallerAnswers} needs of the instance. */
export interface AnswersHost {
  /** Sends on the bus. */
  readonly outbox: BusOutbox;
  /** This instance's control subject: the reply subject of what it sends mid-call. */
  readonly instanceSubject: string;
  /** Whether error stacks go to callers. */
  readonly exposeStack: boolean;
}

/** What {@linkcode CallerAnswers} needs of the caller it answers. */
export interface AnsweredCaller {
  /** Whether the caller was dropped: nothing goes to it any more. */
  readonly isClosed: boolean;
  /**
   * A message that names the instance went for call `id`.
   *
   * @param id The request id.
   */
  named(id: number): void;
  /**
   * Call `id`'s last message went.
   *
   * @param id The request id.
   */
  over(id: number): void;
}

/** The answers to one client inbox's calls. */
export class CallerAnswers implements RequestsOut {
  readonly #inbox: string;
  readonly #host: AnswersHost;
  readonly #caller: AnsweredCaller;

  /**
   * @param inbox The client inbox: every call's reply subject is `<inbox>.<id>`.
   * @param host The instance.
   * @param caller The caller, told what is sent.
   */
  constructor(inbox: string, host: AnswersHost, caller: AnsweredCaller) {
    this.#inbox = inbox;
    this.#host = host;
    this.#caller = caller;
  }

  /** {@inheritDoc MessageOut.result} */
  result(id: number, value: unknown, metadata?: Metadata): void {
    if (this.#caller.isClosed) return;
    let parts: Uint8Array[];
    try {
      parts = this.#host.outbox.encodeChecked(
        outgoing.result(id, value, this.answerMeta(metadata)),
        "The result",
      );
    } catch (error) {
      const isTooLarge = error instanceof ClientError &&
        error.code === "FRAME_TOO_LARGE";
      return this.error(
        id,
        isTooLarge
          ? {
            code: "FRAME_TOO_LARGE",
            name: "RemoteError",
            message: (error as Error).message,
          }
          : this.wireError(
            "ACTION_FAILED",
            new CodecError(
              "ENCODE_FAILED",
              `The action's result cannot be sent: ${(error as Error).message}`,
            ),
          ),
      );
    }
    this.finish(id);
    this.#send(id, parts, undefined);
  }

  /** {@inheritDoc MessageOut.error} */
  error(id: number, error: WireError, metadata?: Metadata): void {
    if (this.#caller.isClosed) return;
    this.finish(id);
    const meta = this.answerMeta(metadata);
    let parts: Uint8Array[];
    try {
      parts = this.#host.outbox.codec.encode(outgoing.error(id, error, meta));
    } catch {
      const { cause: _cause, fields: _fields, ...plain } = error;
      parts = this.#host.outbox.codec.encode(
        outgoing.error(
          id,
          { ...plain, message: safeString(plain.message) },
          meta,
        ),
      );
    }
    this.#send(id, parts, undefined);
  }

  /** {@inheritDoc MessageOut.answerMeta} */
  answerMeta(metadata: Metadata | undefined): AnswerMeta | undefined {
    return metadata === undefined || metadata.size === 0
      ? undefined
      : { metadata: metadata.toJSON() };
  }

  /** {@inheritDoc MessageOut.sendIfOpen} */
  sendIfOpen(message: OutgoingMessage): void {
    if (this.#caller.isClosed) return;
    const id = message[1] as number;
    if (message[0] === MessageType.END) this.finish(id);
    else this.#caller.named(id);
    this.#host.outbox.sendControl(
      this.#reply(id),
      message,
      this.#host.instanceSubject,
    );
  }

  /** {@inheritDoc MessageOut.sendChecked} */
  sendChecked(message: OutgoingMessage): void {
    if (this.#caller.isClosed) return;
    const id = message[1] as number;
    const parts = this.#host.outbox.encodeChecked(message, "A stream item");
    this.#caller.named(id);
    this.#send(id, parts, this.#host.instanceSubject);
  }

  /** {@inheritDoc MessageOut.wireError} */
  wireError(code: string, thrown: unknown): WireError {
    return wireError(code, thrown, this.#host.exposeStack);
  }

  /**
   * Tells the caller call `id` still runs, and which instance runs it.
   *
   * @param id The request id.
   */
  ping(id: number): void {
    if (this.#caller.isClosed) return;
    this.#caller.named(id);
    this.#host.outbox.sendControl(
      this.#reply(id),
      outgoing.ping(id),
      this.#host.instanceSubject,
    );
  }

  /**
   * Call `id` is over for this side: no more liveness messages for it.
   *
   * @param id The request id.
   */
  finish(id: number): void {
    this.#caller.over(id);
  }

  #send(id: number, parts: Uint8Array[], reply: string | undefined): void {
    try {
      this.#host.outbox.send(this.#reply(id), parts, reply, id);
    } catch {
      // The connection is closed: the caller's liveness check sees the silence.
    }
  }

  #reply(id: number): string {
    return `${this.#inbox}.${id}`;
  }
}
