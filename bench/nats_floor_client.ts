/**
 * The NATS floor's client: bare nats.js requests, each value encoded and
 * its answer decoded with isock's codec; W2's 64 calls in flight share the
 * connection's one reply subscription, as nats.js does by default.
 * Started by bench/main.ts.
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { Codec } from "../codec.ts";
import { runClientProcess } from "./child.ts";
import {
  FLOOR_SUBJECT,
  natsAddress,
  REQUEST_TIMEOUT_MS,
} from "./nats_bench.ts";

await runClientProcess("value", async ({ port }) => {
  const nc = await connect({ servers: natsAddress(port) });
  const codec = new Codec();
  const options = { timeout: REQUEST_TIMEOUT_MS };
  return {
    echo: async (value) =>
      codec.decode(
        (await nc.request(FLOOR_SUBJECT, codec.encode(value), options)).data,
      ),
    close: () => nc.close(),
  };
});
