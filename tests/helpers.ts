/**
 * Set-up shared by the tests: a served server on a free loopback port, raw
 * sockets for playing a misbehaving peer, and a seeded random source.
 *
 * @module
 */

import {
  type Action,
  Client,
  type ClientOptions,
  Server,
  type ServerOptions,
} from "../mod.ts";
import { MessageCodec } from "../src/protocol/message_codec.ts";
import { PROTOCOL_VERSION } from "../src/protocol/message_type.ts";
import { FrameEncoderStream } from "../src/wire/framing.ts";
import { concat } from "../src/base/bytes.ts";

/** A listening server and a way to make clients for it. */
export interface Served extends AsyncDisposable {
  server: Server;
  port: number;
  /** A new client for this server (closed with the fixture). */
  client(options?: Partial<ClientOptions>): Client;
}

/** Starts a server on 127.0.0.1 with the given actions; `await using` closes it and its clients. */
export async function serve(
  actions: readonly Action<never, unknown>[],
  options: ServerOptions = {},
): Promise<Served> {
  const server = new Server({ hostname: "127.0.0.1", port: 0, ...options });
  for (const action of actions) server.addAction(action);
  const { port } = await server.listen();
  const clients: Client[] = [];
  return {
    server,
    port,
    client(clientOptions = {}) {
      const client = new Client({
        hostname: "127.0.0.1",
        port,
        extensions: options.extensions,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((client) => client.close()));
      await server.shutdown();
    },
  };
}

/** A port nothing listens on (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Resolves after `milliseconds`. */
export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Reads from a raw connection until it closes, or until `timeout` ms pass.
 * Resolves with the bytes and whether the peer closed in time.
 */
export async function readUntilClosed(
  conn: Deno.Conn,
  timeout: number,
): Promise<{ bytes: Uint8Array; closed: boolean }> {
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => conn.close(), timeout);
  let closed = false;
  try {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) {
        closed = true;
        break;
      }
      chunks.push(buffer.slice(0, count));
    }
  } catch {
    // Closed by the timer.
  } finally {
    clearTimeout(timer);
  }
  if (closed) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  return { bytes: chunks.length ? concat(chunks) : new Uint8Array(0), closed };
}

/** Encodes frames and messages by hand, to play a peer that misbehaves on purpose. */
export const wire = {
  codec: new MessageCodec([]),
  /** Frames a body with its 4-byte length prefix. */
  frame(body: Uint8Array): Uint8Array {
    return concat(new FrameEncoderStream().encode(body));
  },
  /** A valid hello frame. */
  hello(maxFrameSize = 64 * 1024 * 1024): Uint8Array {
    return wire.frame(
      wire.codec.encodeHello({
        version: PROTOCOL_VERSION,
        maxFrameSize,
        nonce: new Uint8Array(32),
        authRequired: false,
      }),
    );
  },
  /** A message frame, such as `[0, 1, "echo", "hi"]`. */
  message(items: readonly unknown[]): Uint8Array {
    return wire.frame(concat(wire.codec.encodeRaw(items)));
  },
};

/** A seeded pseudo-random source (mulberry32), so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes from a seeded source. */
export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** A TCP proxy in front of a server, for watching and cutting connections. */
export interface TcpProxy extends AsyncDisposable {
  /** The port to connect to instead of the server's. */
  port: number;
  /** Every byte that passed, both ways. */
  bytes(): Uint8Array;
  /** Every byte clients sent. */
  sent(): Uint8Array;
  /** Cuts every connection now, as a failing network would; new ones still pass. */
  cut(): void;
}

/** Starts a TCP proxy in front of `port` on 127.0.0.1. */
export function tcpProxy(port: number): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const chunks: Uint8Array[] = [];
  const sentChunks: Uint8Array[] = [];
  const pipes: Promise<void>[] = [];
  const open = new Set<Deno.Conn>();
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn, record: Uint8Array[]) => {
    const buffer = new Uint8Array(65536);
    try {
      for (
        let count = await from.read(buffer);
        count !== null;
        count = await from.read(buffer)
      ) {
        chunks.push(buffer.slice(0, count));
        record.push(buffer.slice(0, count));
        await to.write(buffer.subarray(0, count));
      }
    } catch {
      // One side closed, or the proxy cut them.
    }
    close(from);
    close(to);
  };
  const accepting = (async () => {
    for await (const inbound of listener) {
      const outbound = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(inbound);
      open.add(outbound);
      pipes.push(
        pipe(inbound, outbound, sentChunks),
        pipe(outbound, inbound, []),
      );
    }
  })();
  return {
    port: listener.addr.port,
    bytes: () => concat(chunks),
    sent: () => concat(sentChunks),
    cut() {
      for (const conn of [...open]) close(conn);
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of [...open]) close(conn);
      await Promise.all(pipes);
    },
  };
}
