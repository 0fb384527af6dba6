/**
 * The NATS floor's server: a bare nats.js subscription that decodes each
 * request with isock's codec and answers with it encoded again, the least
 * an RPC over NATS does. Started by bench/main.ts with the nats-server's
 * port in its config; prints that port as its own.
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { Codec } from "../codec.ts";
import { readConfig, runServerProcess, type ServerConfig } from "./child.ts";
import { FLOOR_SUBJECT, natsAddress } from "./nats_bench.ts";

const { natsPort } = readConfig<ServerConfig>();
if (natsPort === undefined) throw new Error("No natsPort in the config.");

await runServerProcess(async () => {
  const nc = await connect({ servers: natsAddress(natsPort) });
  const codec = new Codec();
  nc.subscribe(FLOOR_SUBJECT, {
    callback: (error, message) => {
      if (error !== null) return;
      message.respond(codec.encode(codec.decode(message.data)));
    },
  });
  // The subscription is in place before the client is told to call.
  await nc.flush();
  return { port: natsPort, stop: () => nc.close() };
});
