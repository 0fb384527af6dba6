/**
 * The action the isock server offers, and the client that calls it.
 *
 * @module
 */

import { action, Client, type ClientOptions } from "../mod.ts";
import { HOSTNAME } from "./child.ts";
import type { EchoClient } from "./workloads.ts";

/** Answers with its input. */
export const echo = action("echo", (data: unknown) => data);

/**
 * Makes an isock client of the echo action; it connects on the first call.
 *
 * @param port The server's port on 127.0.0.1.
 * @param options More client options.
 * @returns The client.
 */
export function isockEchoClient(
  port: number,
  options: Omit<ClientOptions, "port"> = {},
): EchoClient {
  const client = new Client({ hostname: HOSTNAME, port, ...options });
  return {
    echo: (payload) => client.runAction(echo, payload),
    close: () => client.close(),
  };
}
