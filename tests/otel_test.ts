/**
 * `@isock/isock/otel`: spans and metrics recorded into an in-memory SDK,
 * the client here and the server in another process, linked by the trace
 * context in the call's metadata; Deno's built-in OpenTelemetry with its
 * console exporter; and the root entry point not loading the API.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { Client, type Middleware, RemoteError } from "../mod.ts";
import { instrument, otelMiddleware } from "../otel.ts";
import { memorySdk, type SpanRecord } from "./otel_sdk.ts";
import { deno, root, start } from "./processes.ts";

async function withTracedServer(
  run: (
    client: Client,
    sdk: ReturnType<typeof memorySdk>,
    port: number,
  ) => Promise<void>,
) {
  const server = await start([
    "run",
    "--allow-net",
    "--allow-env=OTEL_*",
    "tests/fixtures/otel_server.ts",
  ]);
  const sdk = memorySdk();
  const port = Number(server.firstLine.trim());
  const client = instrument(
    new Client({ hostname: "127.0.0.1", port }),
    sdk.options,
  );
  try {
    assert.ok(port > 0, server.firstLine);
    await run(client, sdk, port);
  } finally {
    await client.close();
    await server.child.stdin.close();
    await server.child.status;
    await server.output;
    await server.stderr;
    await sdk.shutdown();
  }
}

/** The server's spans, less those of the calls that fetch them. */
async function serverSpans(client: Client): Promise<SpanRecord[]> {
  const spans = await client.runAction("spans") as SpanRecord[];
  return spans.filter((span) => span.name !== "spans");
}

Deno.test("otel: the server span is a child of the client span across processes, with the RPC attributes", async () => {
  await withTracedServer(async (client, sdk, port) => {
    assert.equal(await client.runAction("echo", "hi"), "hi");
    const [clientSpan] = sdk.spans();
    const [serverSpan] = await serverSpans(client);
    assert.equal(clientSpan.name, "echo");
    assert.equal(clientSpan.kind, SpanKind.CLIENT);
    assert.equal(serverSpan.name, "echo");
    assert.equal(serverSpan.kind, SpanKind.SERVER);
    assert.equal(serverSpan.traceId, clientSpan.traceId);
    assert.equal(serverSpan.parentSpanId, clientSpan.spanId);
    assert.equal(clientSpan.parentSpanId, undefined);
    assert.deepStrictEqual(clientSpan.attributes, {
      "rpc.system.name": "isock",
      "rpc.method": "echo",
      "server.address": "127.0.0.1",
      "server.port": port,
    });
    assert.equal(serverSpan.attributes["rpc.system.name"], "isock");
    assert.equal(serverSpan.attributes["rpc.method"], "echo");
    assert.equal(serverSpan.attributes["network.peer.address"], "127.0.0.1");
    assert.equal(typeof serverSpan.attributes["network.peer.port"], "number");
    assert.equal(clientSpan.status.code, SpanStatusCode.UNSET);
    assert.equal(serverSpan.status.code, SpanStatusCode.UNSET);
  });
});

Deno.test("otel: failed calls make error spans with error.type and the isock code on both ends", async () => {
  await withTracedServer(async (client, sdk) => {
    await assert.rejects(client.runAction("refuse"), { code: "OVERLOADED" });
    await assert.rejects(
      client.runAction("fail"),
      (error) => error instanceof RemoteError && error.code === "ACTION_FAILED",
    );
    const server = await serverSpans(client);
    for (
      const [name, code] of [["refuse", "OVERLOADED"], [
        "fail",
        "ACTION_FAILED",
      ]]
    ) {
      for (
        const span of [sdk.spans(), server].map((spans) =>
          spans.find((s) => s.name === name)!
        )
      ) {
        assert.equal(span.status.code, SpanStatusCode.ERROR, name);
        assert.equal(span.attributes["error.type"], code, name);
        assert.equal(span.attributes["rpc.response.status_code"], code, name);
      }
    }
  });
});

Deno.test("otel: a stream is one span on each end, with its item count", async () => {
  await withTracedServer(async (client, sdk) => {
    const items: unknown[] = [];
    for await (const item of client.stream("count", 5)) items.push(item);
    assert.deepStrictEqual(items, [0, 1, 2, 3, 4]);
    // Left early: the span ends with the items taken so far.
    for await (const _ of client.stream("count", 100)) break;
    const clientSpans = sdk.spans().filter((span) => span.name === "count");
    assert.deepStrictEqual(
      clientSpans.map((span) => span.attributes["isock.stream.item_count"]),
      [5, 1],
    );
    // The server hears of the cancel a moment later: wait for its span (bounded).
    let serverSpans_: SpanRecord[] = [];
    for (let i = 0; i < 100 && serverSpans_.length < 2; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      serverSpans_ = (await serverSpans(client)).filter((span) =>
        span.name === "count"
      );
    }
    assert.equal(serverSpans_.length, 2);
    assert.equal(serverSpans_[0].attributes["isock.stream.item_count"], 5);
    assert.equal(serverSpans_[0].parentSpanId, clientSpans[0].spanId);
  });
});

Deno.test("otel: rpc.client.call.duration and rpc.server.call.duration are recorded in seconds", async () => {
  await withTracedServer(async (client, sdk, port) => {
    await client.runAction("echo", 1);
    await client.runAction("echo", 2);
    await assert.rejects(client.runAction("refuse"));
    const clientMetrics = await sdk.histograms();
    const serverMetrics = await client.runAction("histograms") as Awaited<
      ReturnType<typeof sdk.histograms>
    >;
    const clientDuration = clientMetrics.find((m) =>
      m.name === "rpc.client.call.duration"
    )!;
    const serverDuration = serverMetrics.find((m) =>
      m.name === "rpc.server.call.duration"
    )!;
    for (const histogram of [clientDuration, serverDuration]) {
      assert.equal(histogram.unit, "s");
      const echo = histogram.points.find((p) =>
        p.attributes["rpc.method"] === "echo"
      )!;
      assert.equal(echo.count, 2);
      assert.equal(echo.attributes["rpc.system.name"], "isock");
      const refused = histogram.points.find((p) =>
        p.attributes["rpc.method"] === "refuse"
      )!;
      assert.equal(refused.count, 1);
      assert.equal(refused.attributes["error.type"], "OVERLOADED");
    }
    assert.equal(clientDuration.points[0].attributes["server.port"], port);
  });
});

Deno.test("otel: instrument() installs nothing when no SDK is registered; otelMiddleware() is a middleware", () => {
  const installed: Middleware[] = [];
  const target = {
    use: (middleware: Middleware) => installed.push(middleware),
  };
  assert.equal(instrument(target), target);
  assert.equal(installed.length, 0);
  instrument(target, memorySdk().options);
  assert.equal(installed.length, 1);
  assert.equal(typeof otelMiddleware(), "function");
});

Deno.test("otel: Deno's built-in OpenTelemetry prints the example's linked spans with its console exporter", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "examples/otel_console.ts"],
    cwd: root,
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "console",
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.equal(code, 0, output);
  assert.match(output, /Hello, isock!/);
  // SPAN <name> [<trace id>/<span id>] <kind> <duration>, then its fields.
  const spans = [
    ...output.matchAll(
      /^SPAN (\S+) \[(\w+)\/(\w+)\] (\w+)[^\n]*\n((?: {2}[^\n]*\n)*)/gm,
    ),
  ].map(([, name, traceId, spanId, kind, fields]) => ({
    name,
    traceId,
    spanId,
    kind,
    fields,
  }));
  const client = spans.find((span) =>
    span.name === "greet" && span.kind === "Client"
  );
  const server = spans.find((span) =>
    span.name === "greet" && span.kind === "Server"
  );
  assert.ok(client && server, output);
  assert.match(client.fields, /rpc\.method: greet/);
  assert.match(client.fields, /rpc\.system\.name: isock/);
  assert.equal(server.traceId, client.traceId);
  assert.match(server.fields, new RegExp(`parent: ${client.spanId}`));
  assert.match(output, /rpc\.server\.call\.duration/);
});

Deno.test("otel: importing the root entry point does not load @opentelemetry/api", async () => {
  const info = await deno(["info", "--json", "mod.ts"]);
  assert.equal(info.code, 0, info.stderr);
  assert.deepStrictEqual(npmModules(info.stdout), []);
  // The check can fail: the otel entry point does load the API.
  const otel = await deno(["info", "--json", "otel.ts"]);
  assert.deepStrictEqual(npmModules(otel.stdout), ["@opentelemetry/api@1.9.0"]);
});

/** The npm packages a module graph (`deno info --json`) loads. */
function npmModules(json: string): string[] {
  const graph = JSON.parse(json) as {
    modules: { kind: string; npmPackage?: string }[];
  };
  return graph.modules.filter((module) => module.kind === "npm")
    .map((module) => module.npmPackage!);
}
