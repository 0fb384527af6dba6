/**
 * The capnweb peer's API, shared by its server and client: an `RpcTarget`
 * with one `echo` method, over a WebSocket from the ws package (capnweb's
 * README serves Node that way, and Node 20 has no WebSocket of its own).
 *
 * @module
 */

import { requirePeer } from "./node_child.ts";

/** The little of capnweb the peer uses. */
interface Capnweb {
  RpcTarget: new () => object;
  newWebSocketRpcSession(socket: unknown, localMain?: object): EchoApiStub;
}

/** The little of ws the peer uses. */
interface Ws {
  WebSocket: new (url: string) => { close(): void };
  WebSocketServer: new (options: { host: string; port: number }) => {
    once(event: "listening", listener: () => void): void;
    once(event: "error", listener: (error: Error) => void): void;
    on(event: "connection", listener: (socket: unknown) => void): void;
    address(): { port: number };
    clients: Set<{ terminate(): void }>;
    close(callback: () => void): void;
  };
}

/** The packages, loaded from bench/peers. */
export const capnweb = requirePeer("capnweb") as Capnweb;
export const ws = requirePeer("ws") as Ws;

// capnweb reads `WebSocket.CONNECTING` from the global, which Node 20 has
// only behind --experimental-websocket; ws's class stands in, as it does
// in Node 20 apps.
(globalThis as { WebSocket?: unknown }).WebSocket ??= ws.WebSocket;

/** What the server offers. */
export class EchoApi extends capnweb.RpcTarget {
  /**
   * @param value Anything capnweb can send.
   * @returns The value.
   */
  echo(value: unknown): unknown {
    return value;
  }
}

/** The server's {@linkcode EchoApi}, seen from the client. */
export interface EchoApiStub extends Disposable {
  echo(value: unknown): Promise<unknown>;
}
