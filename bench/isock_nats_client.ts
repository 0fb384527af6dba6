/**
 * isock over NATS, the client: a {@linkcode Client} on the bus calling the
 * echo action (and items, for the stream workloads). Started by
 * bench/main.ts.
 *
 * @module
 */

import { Client } from "../mod.ts";
import { natsTransport } from "../nats.ts";
import { runClientProcess } from "./child.ts";
import { echo, items } from "./isock_echo.ts";
import { BENCH_SERVICE, natsAddress } from "./nats_bench.ts";

await runClientProcess("value", ({ port }) => {
  const bus = natsTransport({
    servers: natsAddress(port),
    service: BENCH_SERVICE,
  });
  const client = new Client({ transport: bus });
  return Promise.resolve({
    echo: (payload) => client.runAction(echo, payload),
    stream: (request) => client.stream(items, request),
    close: async () => {
      await client.close();
      await bus.close();
    },
  });
});
