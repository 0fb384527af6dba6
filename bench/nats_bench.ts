/**
 * What the NATS rows of the bench share: the nats-server bench/main.ts
 * starts for them (one for the whole run, on a free loopback port), the
 * subject the floor echoes on, and the service name isock serves under.
 * Both NATS systems' server processes get the nats-server's port in their
 * config and print it as their own `port`, so their clients find it the
 * way every other client finds its server.
 *
 * @module
 */

import {
  type NatsServer,
  startNatsServer,
} from "../tests/fixtures/nats_server.ts";
import { HOSTNAME } from "./child.ts";

/**
 * The nats-server's `max_payload` in the bench: above W3's 1 MiB payload
 * plus its MessagePack header and isock's envelope, so that both rows
 * send W3 as one NATS message each way (NATS's default, 1 MiB, would
 * refuse the floor's and cut isock's into pieces).
 */
export const BENCH_MAX_PAYLOAD = 8 * 1024 * 1024;

/** The subject the floor's server echoes on. */
export const FLOOR_SUBJECT = "bench.floor.echo";

/** The service name isock's bench server listens under. */
export const BENCH_SERVICE = "bench";

/**
 * The address of the bench's nats-server.
 *
 * @param port Its port on 127.0.0.1.
 * @returns `127.0.0.1:<port>`.
 */
export function natsAddress(port: number): string {
  return `${HOSTNAME}:${port}`;
}

/**
 * Starts the nats-server the NATS rows run through.
 *
 * @returns The running server; stop it with `stop()` (or `await using`).
 * @throws {Error} When nats-server is not installed or does not start.
 */
export async function startBenchNats(): Promise<NatsServer> {
  try {
    return await startNatsServer({ maxPayload: BENCH_MAX_PAYLOAD });
  } catch (error) {
    throw new Error(
      `The NATS rows need nats-server (Debian: apt-get install nats-server): ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
}
