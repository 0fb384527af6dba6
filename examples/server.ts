/**
 * The server half of the two-process example. In one terminal:
 *
 *     deno task server [port]
 *
 * then run `deno task client` in another. Ctrl+C shuts the server down
 * gracefully: calls in progress finish first.
 *
 * @module
 */

import { Server } from "@isock/isock";
import { addExampleActions } from "./actions.ts";

const port = Number(Deno.args[0] ?? 4440);
const server = addExampleActions(new Server({ hostname: "127.0.0.1", port }));
const address = await server.listen();
console.log(
  `Serving on ${address.hostname}:${address.port}. Press Ctrl+C to stop.`,
);

const signals: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];
const stop = () => {
  console.log("Shutting down…");
  server.shutdown();
};
for (const signal of signals) Deno.addSignalListener(signal, stop);

await server.finished;
for (const signal of signals) Deno.removeSignalListener(signal, stop);
console.log("Stopped.");
