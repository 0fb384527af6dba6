/**
 * isock over NATS, the server: the bench's isock {@linkcode Server} (echo
 * and items) listening on the bus, under the service name
 * {@linkcode BENCH_SERVICE}. Started by bench/main.ts with the
 * nats-server's port in its config; prints that port as its own.
 *
 * @module
 */

import { Server } from "../mod.ts";
import { natsTransport } from "../nats.ts";
import { readConfig, runServerProcess, type ServerConfig } from "./child.ts";
import { echo, items } from "./isock_echo.ts";
import { BENCH_SERVICE, natsAddress } from "./nats_bench.ts";

const { natsPort } = readConfig<ServerConfig>();
if (natsPort === undefined) throw new Error("No natsPort in the config.");

await runServerProcess(async () => {
  const bus = natsTransport({
    servers: natsAddress(natsPort),
    service: BENCH_SERVICE,
  });
  const server = new Server().addAction(echo).addAction(items);
  await server.listen(bus);
  return {
    port: natsPort,
    stop: async () => {
      await server.shutdown();
      await bus.close();
    },
  };
});
