/**
 * The event a client dispatches about one of its connections: its
 * `detail` as before, and which server it concerns, for a client with
 * several (`endpoints`).
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
 */
export class ClientEvent<T> extends CustomEvent<T> {
  /** The server the event is about, when the client knows it. */
  readonly endpoint: ConnectDetail | undefined;

  /**
   * Creates a `ClientEvent`.
   *
   * @param type The event's name.
   * @param detail What it carries.
   * @param endpoint The server it is about.
   */
  constructor(type: string, detail: T, endpoint?: ConnectDetail) {
    super(type, { detail });
    this.endpoint = endpoint;
  }
}
