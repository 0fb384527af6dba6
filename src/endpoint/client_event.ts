/**
 * The event a client dispatches about one of its connections: its
 * `detail` as before, which server it concerns, and, for a client with
 * several (`endpoints`), why a server left the rotation.
 *
 * @module
 */

/** Where a client connects: one of its servers. */
export interface ConnectDetail {
  /** The server's host name, as given (the socket path, for a Unix socket). */
  hostname: string;
  /** The server's port (0 for a Unix socket). */
  port: number;
  /** The Unix socket path, when the client connects to one. */
  path?: string;
}

/**
 * Why a server of a client with several (`endpoints`) left the rotation,
 * as its `disconnect` event says: `"flapping"` when it was back on
 * probation after a drop and dropped again before it had stayed up for
 * the stable period (it is tried again later each time), `"goodbye"` when
 * it said it was shutting down (a graceful restart, on probation too: it
 * never counts as a flap), `"dropped"` for any other close (the
 * connection cut, heartbeats unanswered).
 *
 * @example Counting a server's leaves by reason
 * ```ts
 * import { ClientEvent, type LeaveReason } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const leaves = new Map<LeaveReason, number>();
 * function onDisconnect(event: ClientEvent<unknown>): void {
 *   if (event.reason === undefined) return; // A client of one server.
 *   leaves.set(event.reason, (leaves.get(event.reason) ?? 0) + 1);
 * }
 * const endpoint = { hostname: "127.0.0.1", port: 4000 };
 * onDisconnect(new ClientEvent("disconnect", undefined, endpoint, "goodbye"));
 * onDisconnect(new ClientEvent("disconnect", undefined, endpoint, "flapping"));
 * onDisconnect(new ClientEvent("disconnect", undefined, endpoint, "flapping"));
 * assert.deepStrictEqual([...leaves], [["goodbye", 1], ["flapping", 2]]);
 * ```
 */
export type LeaveReason = "flapping" | "goodbye" | "dropped";

/**
 * A client's `connect`, `disconnect` or `error` event.
 *
 * @typeParam T What `detail` holds.
 *
 * @example Which server a connection event is about
 * ```ts
 * import { Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * await using server = new Server();
 * const { port } = await server.listen();
 * await using client = new Client({ endpoints: [{ port }] });
 * const connected = new Promise<number | undefined>((resolve) =>
 *   client.addEventListener("connect", (event) => resolve(event.endpoint?.port))
 * );
 * await client.connect();
 * assert.equal(await connected, port);
 * ```
 *
 * @example Why a server left the rotation
 * ```ts
 * import { Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * await using a = new Server();
 * await using b = new Server();
 * await using client = new Client({
 *   endpoints: [{ port: (await a.listen()).port }, { port: (await b.listen()).port }],
 * });
 * let connected = 0;
 * const both = new Promise<void>((resolve) =>
 *   client.addEventListener("connect", () => ++connected === 2 && resolve())
 * );
 * const left = new Promise<string | undefined>((resolve) =>
 *   client.addEventListener("disconnect", (event) => resolve(event.reason))
 * );
 * await client.connect();
 * await both;
 * await b.shutdown();
 * assert.equal(await left, "goodbye");
 * ```
 */
export class ClientEvent<T> extends CustomEvent<T> {
  /** The server the event is about, when the client knows it. */
  readonly endpoint: ConnectDetail | undefined;
  /**
   * On a `disconnect` of a client with several servers: why the server
   * left the rotation (see {@linkcode LeaveReason}); `undefined` otherwise.
   */
  readonly reason: LeaveReason | undefined;

  /**
   * Creates a `ClientEvent`.
   *
   * @param type The event's name.
   * @param detail What it carries.
   * @param endpoint The server it is about.
   * @param reason Why the server left the rotation, for a `disconnect`.
   */
  constructor(
    type: string,
    detail: T,
    endpoint?: ConnectDetail,
    reason?: LeaveReason,
  ) {
    super(type, { detail });
    this.endpoint = endpoint;
    this.reason = reason;
  }
}
