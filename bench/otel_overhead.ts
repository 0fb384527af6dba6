/**
 * `deno run --allow-net bench/otel_overhead.ts [--rounds N] [--calls N]`:
 * what the OpenTelemetry middleware costs on loopback calls, one server and
 * client per setup in this process: no middleware; a pass-through
 * middleware; `otelMiddleware()` with no SDK registered (installed with
 * `.use()`; `instrument()` would install nothing); and with an SDK
 * (in-memory span exporter, a meter provider). W1 (one call at a time)
 * and W2 (64 in flight) of W1's object; rounds interleave the setups so
 * drift hits all alike; the median round counts.
 *
 * @module
 */

import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { action, Client, type Middleware, Server } from "../mod.ts";
import { otelMiddleware } from "../otel.ts";

const args = Deno.args;
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const ROUNDS = flag("--rounds", 7);
const CALLS = flag("--calls", 3000);
const MAX_ROUND_MS = 10_000;

const payload = {
  id: 1,
  name: "bench",
  tags: ["a", "b", "c"],
  ts: new Date(0),
};
const echo = action("echo", (data: typeof payload) => data);

const exporter = new InMemorySpanExporter();
const sdk = {
  tracerProvider: new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  }),
  meterProvider: new MeterProvider(),
};

// instrument() with no SDK registered installs nothing: the same as "none".
const setups: [string, Middleware | undefined][] = [
  ["none", undefined],
  ["pass-through", (_call, next) => next()],
  ["otelMiddleware(), no SDK", otelMiddleware()],
  ["otel + SDK (in-memory)", otelMiddleware(sdk)],
];

const pairs = await Promise.all(setups.map(async ([name, middleware]) => {
  const server = new Server({ hostname: "127.0.0.1", port: 0 }).addAction(
    echo,
  );
  if (middleware) server.use(middleware);
  const { port } = await server.listen();
  const client = new Client({ hostname: "127.0.0.1", port });
  if (middleware) client.use(middleware);
  await client.runAction(echo, payload);
  return { name, server, client };
}));

async function w1(client: Client): Promise<number> {
  const start = performance.now();
  let done = 0;
  while (done < CALLS && performance.now() - start < MAX_ROUND_MS) {
    await client.runAction(echo, payload);
    done++;
  }
  return done / ((performance.now() - start) / 1000);
}

async function w2(client: Client): Promise<number> {
  const start = performance.now();
  let sent = 0;
  let done = 0;
  const worker = async () => {
    while (sent < CALLS * 4 && performance.now() - start < MAX_ROUND_MS) {
      sent++;
      await client.runAction(echo, payload);
      done++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return done / ((performance.now() - start) / 1000);
}

const median = (values: number[]) =>
  values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

const results = new Map<string, { w1: number[]; w2: number[] }>(
  pairs.map(({ name }) => [name, { w1: [], w2: [] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? pairs : pairs.toReversed();
  for (const { name, client } of order) {
    results.get(name)!.w1.push(await w1(client));
    results.get(name)!.w2.push(await w2(client));
    exporter.reset();
  }
}

const base = results.get("none")!;
console.log(
  `${ROUNDS} rounds, ${CALLS} W1 calls / ${
    CALLS * 4
  } W2 calls a round; median calls/s (÷ none)`,
);
for (const [name, { w1, w2 }] of results) {
  const a = median(w1), b = median(w2);
  console.log(
    `${name.padEnd(24)} W1 ${a.toFixed(0).padStart(7)} (${
      (a / median(base.w1)).toFixed(3)
    })   W2 ${b.toFixed(0).padStart(7)} (${(b / median(base.w2)).toFixed(3)})`,
  );
}
for (const { server, client } of pairs) {
  await client.close();
  await server.shutdown();
}
await sdk.tracerProvider.shutdown();
await sdk.meterProvider.shutdown();
