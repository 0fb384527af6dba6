/**
 * Idle isock clients, for bench/footprint.ts: connects `clients` clients,
 * each making one call (so that its handshake is done), prints
 * `{"connected": n}`, and keeps them open and idle until standard input
 * ends.
 *
 * @module
 */

import { DENO_RUNTIME, readConfig } from "./child.ts";
import { isockEchoClient } from "./isock_echo.ts";
import { connectClients, type EchoClient } from "./workloads.ts";

/** The argument of this program. */
export interface IdleClientsConfig {
  /** The server's port on 127.0.0.1. */
  readonly port: number;
  /** How many clients to connect. */
  readonly clients: number;
}

const { port, clients: count } = readConfig<IdleClientsConfig>();
const clients: EchoClient[] = [];
try {
  await connectClients(
    clients,
    count,
    () => Promise.resolve(isockEchoClient(port)),
    0,
  );
  console.log(JSON.stringify({ connected: clients.length }));
  await DENO_RUNTIME.stdinEnd();
} finally {
  await Promise.all(clients.map((client) => client.close()));
}
