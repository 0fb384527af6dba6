/**
 * The other end of a connection, seen from a handler or a server: where it
 * is, who it is, and a way to call the actions it offers. A server handler
 * calls back its client through `context.peer`; a server reaches every
 * client through `server.peers`.
 *
 * @module
 */

import { type ActionRef, isActionRef } from "./action_ref.ts";
import { ClientError } from "../base/errors.ts";
import type { CallOptions, StreamOptions } from "./call_options.ts";
import type { StreamItem } from "../protocol/stream.ts";
import type { PeerAddress } from "../wire/transport.ts";
import {
  DESCRIBE_ACTION,
  readDescription,
  type ServiceDescription,
} from "./description.ts";

/**
 * What a {@linkcode Peer} needs of its connection. The session implements
 * it, so that this layer never imports the session.
 */
export interface PeerConnection {
  /** Who the peer is: what `authenticate` returned for it, or `undefined`. */
  readonly identity: unknown;
  /** Whether calls may be sent. */
  readonly isOpen: boolean;
  /** Calls an action on the peer; every failure is a rejection. */
  call(action: string, data: unknown, options?: CallOptions): Promise<unknown>;
  /** Calls an action whose result is a stream. */
  openStream(
    action: string,
    data: unknown,
    options?: StreamOptions,
  ): { readonly receiver: AsyncIterableIterator<unknown> };
}

/** The data and options of a call: the data is optional when the action takes none. */
export type ActionArgs<I> = undefined extends I
  ? [data?: I, options?: CallOptions]
  : [data: I, options?: CallOptions];

/** The data and options of a streamed call. */
export type StreamArgs<I> = undefined extends I
  ? [data?: I, options?: StreamCallOptions]
  : [data: I, options?: StreamCallOptions];

/** Options of a streamed call. */
export interface StreamCallOptions extends CallOptions {
  /**
   * How many items may be on their way before the consumer takes some: the
   * most either side holds. The producer waits when it is reached. Between
   * isock peers 1 MiB of items is the most too, whatever the count (a
   * larger item still comes, alone); a peer that does not take batches
   * (PROTOCOL.md, "Batches") is asked for 16 items by default.
   *
   * @default {1024}
   */
  window?: number;
}

/**
 * A connected peer: its address and identity, and the actions it offers.
 * Calls behave as a client's calls do: errors, deadlines and cancellation
 * alike.
 *
 * @example A server pushes a notification to every client
 * ```ts
 * import { action, Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const notify = action("notify", (message: string) => message.length);
 * await using server = new Server();
 * const { port } = await server.listen();
 * await using client = new Client({ port }).addAction(notify);
 * await client.runAction("nothing").catch(() => {}); // connect
 *
 * const [peer] = server.peers;
 * assert.equal(await peer.runAction(notify, "hello"), 5);
 * ```
 */
export class Peer implements PeerAddress {
  /** The peer's IP address (or socket path). */
  readonly hostname: string;
  /** The peer's port. */
  readonly port: number;
  /** The kind of connection. */
  readonly transport: "tcp" | "unix" | "websocket";
  readonly #session: PeerConnection;

  /**
   * Creates a `Peer`.
   *
   * @param session The connection to the peer.
   * @param address Where the peer is.
   */
  constructor(session: PeerConnection, address: PeerAddress) {
    this.#session = session;
    this.hostname = address.hostname;
    this.port = address.port;
    this.transport = address.transport;
  }

  /**
   * Who the peer is: what the server's `authenticate` returned for this
   * connection, or `undefined`.
   */
  get identity(): unknown {
    return this.#session.identity;
  }

  /** Whether calls to the peer can be sent. */
  get isConnected(): boolean {
    return this.#session.isOpen;
  }

  /**
   * Runs an action the peer offers and returns its result.
   *
   * @param action The action, or a reference to it.
   * @param args The input, then `timeout` and `signal` options.
   * @returns What the action returned.
   */
  runAction<I, O>(
    action: ActionRef<I, O>,
    ...args: ActionArgs<I>
  ): Promise<O>;
  /**
   * Runs an action by name.
   *
   * @param action The action's name.
   * @param data The input.
   * @param options `timeout` and `signal`.
   * @returns What the action returned.
   */
  runAction(
    action: string,
    data?: unknown,
    options?: CallOptions,
  ): Promise<unknown>;
  runAction(
    action: ActionRef | string,
    data?: unknown,
    options?: CallOptions,
  ): Promise<unknown> {
    const name = actionName(action);
    if (name === undefined) return Promise.reject(invalidAction());
    return this.#session.call(name, data, options);
  }

  /**
   * Asks the peer what actions it offers (reflection), as
   * {@linkcode Client.describe} does.
   *
   * @param options `timeout` and `signal`.
   * @returns The description.
   */
  async describe(options?: CallOptions): Promise<ServiceDescription> {
    return readDescription(
      await this.#session.call(DESCRIBE_ACTION, undefined, options),
    );
  }

  /**
   * Runs an action whose result is a stream, and iterates its items.
   *
   * @param action The action, or a reference to it.
   * @param args The input, then `timeout`, `signal` and `window` options.
   * @returns The items, as they arrive.
   */
  stream<I, O>(
    action: ActionRef<I, O>,
    ...args: StreamArgs<I>
  ): AsyncIterable<StreamItem<O>>;
  /**
   * Runs an action by name whose result is a stream.
   *
   * @param action The action's name.
   * @param data The input.
   * @param options `timeout`, `signal` and `window`.
   * @returns The items, as they arrive.
   */
  stream(
    action: string,
    data?: unknown,
    options?: StreamCallOptions,
  ): AsyncIterable<unknown>;
  stream(
    action: ActionRef | string,
    data?: unknown,
    options?: StreamOptions,
  ): AsyncIterable<unknown> {
    const name = actionName(action);
    const session = this.#session;
    return {
      [Symbol.asyncIterator]: () => {
        if (name === undefined) return failing(invalidAction());
        return session.openStream(name, data, options).receiver;
      },
    };
  }
}

/** The name in an action, a reference or a string; `undefined` when there is none. */
export function actionName(action: unknown): string | undefined {
  const name = typeof action === "string"
    ? action
    : isActionRef(action)
    ? action.name
    : "";
  return name.length > 0 ? name : undefined;
}

/** The error for a call that names no action. */
export function invalidAction(): ClientError {
  return new ClientError(
    "INVALID_ACTION",
    'runAction() and stream() take an action, a reference made by action("name"), or a non-empty name.',
  );
}

/** An iterator whose first step throws `error`. */
export function failing(error: unknown): AsyncIterator<never> {
  return {
    next: () => Promise.reject(error),
  };
}
