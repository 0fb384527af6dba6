/**
 * Set-up shared by the WebSocket tests: a server served by `Deno.serve`
 * through `server.upgrade`, on a free loopback port, and clients for it.
 *
 * @module
 */

import {
  type Action,
  Client,
  type ClientBaseOptions,
  Server,
  type ServerOptions,
} from "../mod.ts";

/** A server behind `Deno.serve` and a way to make WebSocket clients for it. */
export interface WebSocketServed extends AsyncDisposable {
  server: Server;
  /** The HTTP port. */
  port: number;
  /** `ws://127.0.0.1:port/isock`. */
  url: string;
  /** A new WebSocket client for this server (closed with the fixture). */
  client(options?: ClientBaseOptions): Client;
  /** Stops the HTTP server and shuts the isock server down. */
  stop(): Promise<void>;
}

/** Options of {@linkcode serveWebSocket}. */
export interface WebSocketServeOptions extends ServerOptions {
  /** The HTTP port (0 picks a free one). */
  httpPort?: number;
  /** Clients to close with the fixture, shared between fixtures. */
  clients?: Client[];
}

/**
 * Starts a server with the given actions, served over WebSocket only (it
 * never listens on TCP unless `port` is given); `await using` closes it
 * and its clients.
 */
export async function serveWebSocket(
  actions: readonly Action<never, unknown>[],
  options: WebSocketServeOptions = {},
): Promise<WebSocketServed> {
  const { httpPort = 0, clients = [], ...serverOptions } = options;
  const server = new Server({ hostname: "127.0.0.1", ...serverOptions });
  for (const action of actions) server.addAction(action);
  if (serverOptions.port !== undefined) await server.listen();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: httpPort, onListen() {} },
    (request, info) => server.upgrade(request, info),
  );
  const { port } = http.addr;
  const url = `ws://127.0.0.1:${port}/isock`;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await server.shutdown({ timeout: 0 });
      await http.shutdown();
    })();
  return {
    server,
    port,
    url,
    client(clientOptions = {}) {
      const client = new Client({
        url,
        extensions: serverOptions.extensions,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    stop,
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((client) => client.close()));
      await stop();
    },
  };
}
