/**
 * The gRPC peer's client, on Node: the echo service's generated client
 * (see grpc_echo.ts), objects to EchoObject and bytes to EchoBytes, and
 * W5's streams from StreamObjects or StreamBytes. Bundled and started by
 * bench/main.ts.
 *
 * @module
 */

import { promisify } from "node:util";
import { HOSTNAME, runClientProcess } from "./child.ts";
import { type ClientStreamCall, EchoService, grpc } from "./grpc_echo.ts";
import { NODE_RUNTIME } from "./node_child.ts";

await runClientProcess("value", ({ port }) => {
  const client = new EchoService(
    `${HOSTNAME}:${port}`,
    grpc.credentials.createInsecure(),
    // Clients with the same target share one connection by default; W4
    // wants one each, like the other systems' clients.
    { "grpc.use_local_subchannel_pool": 1 },
  );
  const echoObject = promisify(client.echoObject.bind(client));
  const echoBytes = promisify(client.echoBytes.bind(client));
  return Promise.resolve({
    echo: (payload) =>
      payload instanceof Uint8Array
        ? echoBytes({ data: payload }).then((answer) =>
          (answer as { data: Uint8Array }).data
        )
        : echoObject(payload),
    stream: ({ count, chunkBytes }) =>
      chunkBytes === undefined
        ? items(client.streamObjects({ count }), (sample) => sample)
        : items(
          client.streamBytes({ count, chunk_bytes: chunkBytes }),
          (blob) => (blob as { data: Uint8Array }).data,
        ),
    close: () => client.close(),
  });
}, NODE_RUNTIME);

/**
 * The items in a call's messages. Leaving the loop early only stops
 * reading, so it cancels the call too, for the server to stop sending.
 */
async function* items(
  call: ClientStreamCall,
  item: (message: unknown) => unknown,
): AsyncGenerator<unknown> {
  let isDone = false;
  try {
    for await (const message of call) yield item(message);
    isDone = true;
  } finally {
    if (!isDone) {
      // The CANCELLED error that follows is expected; nobody reads it.
      call.on("error", () => {});
      call.cancel();
    }
  }
}
