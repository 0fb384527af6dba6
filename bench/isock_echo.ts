/**
 * The actions the isock server offers, and the client that calls them.
 *
 * @module
 */

import { action, Client, type TcpClientOptions } from "../mod.ts";
import { HOSTNAME } from "./child.ts";
import {
  type EchoClient,
  streamItem,
  type StreamRequest,
} from "./workloads.ts";

/** Answers with its input. */
export const echo = action("echo", (data: unknown) => data);

/** Streams the items a stream workload (W5, W5b) asks for. */
export const items = action(
  "items",
  async function* (request: StreamRequest) {
    for (let index = 0; index < request.count; index++) {
      yield streamItem(request, index);
    }
  },
);

/**
 * Makes an isock client of the echo and items actions; it connects on the
 * first call.
 *
 * @param port The server's port on 127.0.0.1.
 * @param options More client options.
 * @returns The client.
 */
export function isockEchoClient(
  port: number,
  options: Omit<TcpClientOptions, "port"> = {},
): EchoClient {
  const client = new Client({ hostname: HOSTNAME, port, ...options });
  return {
    echo: (payload) => client.runAction(echo, payload),
    stream: (request) => client.stream(items, request),
    close: () => client.close(),
  };
}
