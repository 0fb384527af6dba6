/**
 * The other end of a connection, seen from a handler or a server: where it
 * is, who it is, and a way to call the actions it offers. A server handler
 * calls back its client through `context.peer`; a server reaches every
 * client through `server.peers`.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import type { StreamItem } from "../protocol/stream.ts";
import type { PeerAddress } from "../wire/transport.ts";
import {
  DESCRIBE_ACTION,
  readDescription,
  type ServiceDescription,
} from "./description.ts";
import type { StandardSchemaV1 } from "../base/schema.ts";
import type { Metadata, MetadataInit } from "../protocol/metadata.ts";

// A reference to an action: its name and what it declares about itself,
// typed. The lowest piece of the dispatch layer, so that the peer and the
// action types can both use it.

/**
 * A typed reference to an action: its name, what it declares about itself
 * (schemas, idempotence), and (for the type checker only) what it takes and
 * returns. Pass one to {@linkcode Client.runAction} to get a typed result.
 *
 * @typeParam I What the action takes.
 * @typeParam O What it returns.
 */
export interface ActionRef<I = never, O = unknown> {
  /** The name the server knows the action by. */
  readonly name: string;
  /**
   * Checks the data before the handler runs; invalid data is refused with
   * `INVALID_INPUT` and the schema's issues.
   */
  readonly input?: StandardSchemaV1;
  /** Checks the result before it leaves the server. */
  readonly output?: StandardSchemaV1;
  /**
   * Whether running the action twice does no harm. The client then sends it
   * again, on a new connection, when the connection drops under it.
   */
  readonly idempotent?: boolean;
  /** Carries the input and output types for the type checker; never set. */
  readonly "~types"?: { input: (input: I) => void; output: O };
}

/** Whether `value` names an action: an object with a non-empty string `name`. */
export function isActionRef(value: unknown): value is ActionRef {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    (value as { name: string }).name.length > 0;
}

// The options of one call, shared by every side that calls: a client, a
// server calling its client back through a {@linkcode Peer}, and the
// session that carries the call.

/** Options of a call. */
export interface CallOptions {
  /** Milliseconds to wait for the answer; 0 waits as long as it takes. */
  timeout?: number;
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
  /**
   * String key/values sent with the call (the handler reads them as
   * `context.metadata`): keys `[a-zA-Z0-9._-]`, case-insensitive, at most
   * 64 entries and 8 KiB. Too much fails the call with `INVALID_METADATA`.
   */
  metadata?: MetadataInit;
  /**
   * Called with the answer's metadata (what the handler set on
   * `context.responseMetadata`), before the call settles, when there is
   * some. For a stream, once it ends.
   */
  onResponseMetadata?: (metadata: Metadata) => void;
}

/** Options of a call whose result is a stream, as the session sees them. */
export interface StreamOptions extends CallOptions {
  /**
   * How many items may be in flight before the caller grants more (1,024
   * and 1 MiB from a peer that takes batches, else 16, when omitted).
   */
  window?: number;
  /** Resume after this item (the handler sees it as `context.lastEventId`). */
  lastEventId?: string | number;
}

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
