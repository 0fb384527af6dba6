/**
 * OpenTelemetry with Deno's built-in support, printed to the console: a
 * server and a client in one program, both instrumented; each call makes
 * a client span and a server span in the same trace.
 *
 *     OTEL_DENO=true OTEL_EXPORTER_OTLP_PROTOCOL=console \
 *       deno run --allow-net examples/otel_console.ts
 *
 * Without `OTEL_EXPORTER_OTLP_PROTOCOL=console`, Deno sends the spans and
 * metrics over OTLP to localhost:4318 (a collector, e.g.
 * `docker run -p 3000:3000 -p 4318:4318 --rm -ti grafana/otel-lgtm`).
 *
 * @module
 */

import { action, Client, Server } from "@isock/isock";
import { instrument } from "@isock/isock/otel";

const greet = action("greet", (name: string) => `Hello, ${name}!`);
const countdown = action("countdown", async function* (from: number) {
  for (let n = from; n > 0; n--) yield n;
});

await using server = instrument(new Server({ hostname: "127.0.0.1", port: 0 }))
  .addAction(greet)
  .addAction(countdown);
const { port } = await server.listen();
await using client = instrument(new Client({ hostname: "127.0.0.1", port }));

console.log(await client.runAction(greet, "isock"));
for await (const n of client.stream(countdown, 3)) console.log(n);
