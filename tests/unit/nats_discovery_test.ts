/**
 * The micro discovery protocol against a real nats-server: what a raw NATS
 * client sees when it asks `$SRV.PING|INFO|STATS` (the shapes of ADR-32's
 * `io.nats.micro.v1.*` documents), and what `listInstances` makes of the
 * answers. The service is a fake with fixed stats; the bus a plain NATS
 * connection adapted here the way nats.ts adapts its own.
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import assert from "node:assert/strict";
import { ClientError } from "../../src/base/errors.ts";
import type { ServerStats } from "../../src/dispatch/action_stats.ts";
import {
  answerDiscovery,
  type DiscoveryAnswerer,
  type DiscoveryBus,
} from "../../src/nats/service_discovery.ts";
import {
  type DiscoverableService,
  endpointMetadata,
  type MicroEndpointInfo,
  RESPONSE_TYPES,
} from "../../src/nats/micro_responses.ts";
import { listInstances } from "../../src/nats/client_discovery.ts";
import { discoveryBus, gatherRaw } from "../fixtures/nats_discovery_bus.ts";
import { startNatsServer } from "../fixtures/nats_server.ts";

const STARTED = new Date("2026-01-02T03:04:05.678Z");
const FAILED_AT = new Date("2026-01-02T03:05:00.000Z");

/** A server's stats: `add` called 4 times (1 failed), `ticks` never. */
function fixedStats(): ServerStats {
  return {
    started: STARTED,
    actions: [
      {
        name: "add",
        calls: 4,
        errors: 1,
        running: 2,
        processingTime: 10,
        averageProcessingTime: 2.5,
        lastError: {
          code: "INVALID_INPUT",
          message: "not a pair",
          time: FAILED_AT,
        },
      },
      {
        name: "ticks",
        calls: 0,
        errors: 0,
        running: 0,
        processingTime: 0,
        averageProcessingTime: 0,
      },
      // Called, then removed: no endpoint any more.
      {
        name: "gone",
        calls: 1,
        errors: 0,
        running: 0,
        processingTime: 1,
        averageProcessingTime: 1,
      },
    ],
    unknownActions: 0,
  };
}

const ADD_INPUT = {
  type: "array",
  prefixItems: [{ type: "number" }, { type: "number" }],
};

function endpoints(service: string): MicroEndpointInfo[] {
  return [
    {
      name: "add",
      subject: `isock.${service}.add`,
      queue_group: service,
      metadata: endpointMetadata({
        name: "add",
        idempotent: true,
        streams: false,
        inputStream: false,
        input: ADD_INPUT,
        output: { type: "number" },
      }),
    },
    {
      name: "ticks",
      subject: `isock.${service}.ticks`,
      queue_group: service,
      metadata: endpointMetadata({
        name: "ticks",
        idempotent: false,
        streams: true,
        inputStream: true,
      }),
    },
  ];
}

function fakeService(
  name: string,
  id: string,
  stats: () => ServerStats = fixedStats,
): DiscoverableService {
  return {
    name,
    id,
    version: "1.2.3",
    description: `the ${name} service`,
    metadata: { "isock.protocol": "1" },
    endpoints: () => endpoints(name),
    stats,
  };
}

/**
 * A nats-server, a connection for the services and one for the asker. The
 * services' bus subscribes through a connection of its own, so `serve`
 * flushes it: the subscriptions are in place before the asker asks.
 */
async function withBus(
  test: (
    serve: (service: DiscoverableService) => Promise<DiscoveryAnswerer>,
    asker: NatsConnection,
    askerBus: DiscoveryBus,
  ) => Promise<void>,
): Promise<void> {
  await using nats = await startNatsServer();
  const serving = await connect({ servers: nats.hostPort });
  const asker = await connect({ servers: nats.hostPort });
  const bus = discoveryBus(serving);
  const serve = async (service: DiscoverableService) => {
    const answerer = answerDiscovery(bus, service);
    await serving.flush();
    return answerer;
  };
  try {
    await test(serve, asker, discoveryBus(asker));
  } finally {
    await serving.close();
    await asker.close();
  }
}

Deno.test("discovery: $SRV.PING, by service and by id, answered by the instances asked", async () => {
  await withBus(async (serve, asker) => {
    const answering = [
      await serve(fakeService("lab", "a1")),
      await serve(fakeService("lab", "a2")),
      await serve(fakeService("other", "b1")),
    ];
    try {
      const all = await gatherRaw(asker, "$SRV.PING");
      assert.deepEqual(all.map(({ id }) => id), ["a1", "a2", "b1"]);
      assert.deepEqual(all[0], {
        type: "io.nats.micro.v1.ping_response",
        name: "lab",
        id: "a1",
        version: "1.2.3",
        metadata: { "isock.protocol": "1" },
      });
      const lab = await gatherRaw(asker, "$SRV.PING.lab");
      assert.deepEqual(lab.map(({ id }) => id), ["a1", "a2"]);
      const one = await gatherRaw(asker, "$SRV.PING.lab.a2");
      assert.deepEqual(one.map(({ id }) => id), ["a2"]);
      // Nobody of that name: NATS says so at once (no responders).
      await assert.rejects(gatherRaw(asker, "$SRV.PING.nothing"));
    } finally {
      await Promise.all(answering.map((answerer) => answerer.stop()));
    }
  });
});

Deno.test("discovery: $SRV.INFO tells each action as an endpoint with its schemas in the metadata", async () => {
  await withBus(async (serve, asker) => {
    const answering = await serve(fakeService("lab", "a1"));
    try {
      const [info] = await gatherRaw(asker, "$SRV.INFO.lab");
      assert.equal(info.type, "io.nats.micro.v1.info_response");
      assert.equal(info.description, "the lab service");
      const [add, ticks] = info.endpoints as Record<string, unknown>[];
      assert.deepEqual(Object.keys(add).sort(), [
        "metadata",
        "name",
        "queue_group",
        "subject",
      ]);
      assert.equal(add.name, "add");
      assert.equal(add.subject, "isock.lab.add");
      assert.equal(add.queue_group, "lab");
      const metadata = add.metadata as Record<string, string>;
      // micro metadata holds strings only: the schema travels as JSON text.
      for (const value of Object.values(metadata)) {
        assert.equal(typeof value, "string");
      }
      assert.deepEqual(JSON.parse(metadata.input_schema), ADD_INPUT);
      assert.deepEqual(JSON.parse(metadata.output_schema), { type: "number" });
      assert.equal(metadata.idempotent, "true");
      assert.deepEqual(ticks.metadata, {
        idempotent: "false",
        streams: "true",
      });
    } finally {
      await answering.stop();
    }
  });
});

Deno.test("discovery: $SRV.STATS gives micro's numbers in nanoseconds, one entry per endpoint", async () => {
  await withBus(async (serve, asker) => {
    const answering = await serve(fakeService("lab", "a1"));
    try {
      const [stats] = await gatherRaw(asker, "$SRV.STATS.lab.a1");
      assert.equal(stats.type, "io.nats.micro.v1.stats_response");
      assert.equal(stats.started, STARTED.toISOString());
      assert.equal(stats.version, "1.2.3");
      const [add, ticks, ...others] = stats.endpoints as Record<
        string,
        unknown
      >[];
      assert.deepEqual(others, [], "'gone' has no endpoint: not listed");
      assert.equal(add.name, "add");
      assert.equal(add.subject, "isock.lab.add");
      assert.equal(add.num_requests, 4);
      assert.equal(add.num_errors, 1);
      assert.equal(add.last_error, "INVALID_INPUT: not a pair");
      assert.equal(add.processing_time, 10_000_000);
      assert.equal(add.average_processing_time, 2_500_000);
      assert.deepEqual(add.data, {
        running: 2,
        last_error: {
          code: "INVALID_INPUT",
          message: "not a pair",
          time: FAILED_AT.toISOString(),
        },
      });
      // ADR-32 requires last_error even before any error.
      assert.equal(ticks.last_error, "");
      assert.equal(ticks.num_requests, 0);
      assert.equal(ticks.processing_time, 0);
    } finally {
      await answering.stop();
    }
  });
});

Deno.test("listInstances: the instances of a service with their actions and stats, in isock's units", async () => {
  await withBus(async (serve, _asker, askerBus) => {
    const answering = [
      await serve(fakeService("lab", "a2")),
      await serve(fakeService("lab", "a1")),
      await serve(fakeService("other", "b1")),
    ];
    try {
      const found = await listInstances(askerBus, { service: "lab" });
      assert.deepEqual(found.map(({ id }) => id), ["a1", "a2"]);
      const [first] = found;
      assert.equal(first.name, "lab");
      assert.equal(first.version, "1.2.3");
      assert.equal(first.description, "the lab service");
      assert.deepEqual(first.metadata, { "isock.protocol": "1" });
      const [add, ticks] = first.endpoints;
      assert.equal(add.subject, "isock.lab.add");
      assert.equal(add.queueGroup, "lab");
      assert.deepEqual(add.input, ADD_INPUT);
      assert.deepEqual(add.output, { type: "number" });
      assert.equal(ticks.input, undefined);
      // What server.stats() said, less the action without an endpoint.
      const expected = fixedStats();
      assert.deepEqual(first.stats, {
        started: expected.started,
        actions: expected.actions.slice(0, 2),
      });

      const everyone = await listInstances(askerBus, { timeout: 500 });
      assert.deepEqual(
        everyone.map(({ name, id }) => `${name}/${id}`),
        ["lab/a1", "lab/a2", "other/b1"],
      );
      const one = await listInstances(askerBus, { service: "lab", id: "a2" });
      assert.deepEqual(one.map(({ id }) => id), ["a2"]);
    } finally {
      await Promise.all(answering.map((answerer) => answerer.stop()));
    }
  });
});

Deno.test("listInstances: ends soon after the last answer, well before its timeout", async () => {
  await withBus(async (serve, asker, askerBus) => {
    const answering = await serve(fakeService("lab", "a1"));
    // Baseline: a service that takes the requests but never answers, so
    // the whole timeout passes.
    const silent = asker.subscribe("$SRV.*.quiet", { callback: () => {} });
    try {
      await asker.flush();
      let started = performance.now();
      assert.deepEqual(
        await listInstances(askerBus, { service: "quiet", timeout: 1500 }),
        [],
      );
      const whole = performance.now() - started;
      assert.ok(whole >= 1400, `returned after ${whole} ms`);
      started = performance.now();
      const found = await listInstances(askerBus, {
        service: "lab",
        timeout: 1500,
        stall: 50,
      });
      const answered = performance.now() - started;
      assert.equal(found.length, 1);
      assert.ok(answered < whole / 2, `${answered} ms vs ${whole} ms`);
      // Nobody listens at all: NATS says so (no responders), no waiting.
      started = performance.now();
      assert.deepEqual(
        await listInstances(askerBus, { service: "none", timeout: 1500 }),
        [],
      );
      const none = performance.now() - started;
      assert.ok(none < whole / 2, `${none} ms vs ${whole} ms`);
    } finally {
      silent.unsubscribe();
      await answering.stop();
    }
  });
});

Deno.test("discovery: after stop() the instance answers no more; others go on", async () => {
  await withBus(async (serve, asker, askerBus) => {
    const first = await serve(fakeService("lab", "a1"));
    const second = await serve(fakeService("lab", "a2"));
    try {
      await first.stop();
      await first.stop(); // twice is fine
      await asker.flush();
      const found = await listInstances(askerBus, {
        service: "lab",
        timeout: 400,
      });
      assert.deepEqual(found.map(({ id }) => id), ["a2"]);
    } finally {
      await second.stop();
    }
  });
});

Deno.test("discovery: an instance that cannot tell its stats leaves STATS unanswered, and still answers INFO", async () => {
  await withBus(async (serve, asker, askerBus) => {
    const answering = await serve(
      fakeService("lab", "a1", () => {
        throw new Error("closing");
      }),
    );
    try {
      assert.deepEqual(await gatherRaw(asker, "$SRV.STATS.lab", 200), []);
      const [instance] = await listInstances(askerBus, {
        service: "lab",
        timeout: 400,
      });
      assert.equal(instance.id, "a1");
      assert.equal(instance.endpoints.length, 2);
      assert.equal(instance.stats, undefined);
    } finally {
      await answering.stop();
    }
  });
});

Deno.test("listInstances: answers that are not micro documents are left out", async () => {
  await withBus(async (serve, asker, askerBus) => {
    const answering = await serve(fakeService("lab", "a1"));
    // A stranger on the same subjects, answering nonsense.
    const stranger = asker.subscribe("$SRV.*.lab", {
      callback: (_error, message) => {
        message.respond("not json");
        message.respond(JSON.stringify([1, 2]));
        message.respond(JSON.stringify({ type: RESPONSE_TYPES.INFO }));
      },
    });
    try {
      await asker.flush();
      const found = await listInstances(askerBus, {
        service: "lab",
        timeout: 400,
      });
      assert.deepEqual(found.map(({ id }) => id), ["a1"]);
    } finally {
      stranger.unsubscribe();
      await answering.stop();
    }
  });
});

Deno.test("discovery: names and options that are not subject tokens are refused", async () => {
  await withBus(async (serve, _asker, askerBus) => {
    await assert.rejects(serve(fakeService("a.b", "x")), TypeError);
    await assert.rejects(serve(fakeService("lab", "*")), TypeError);
    for (
      const options of [
        { service: "a b" },
        { service: "lab.>" },
        { id: "a1" },
        { service: "lab", timeout: 0 },
        { service: "lab", stall: Number.NaN },
      ]
    ) {
      await assert.rejects(
        listInstances(askerBus, options),
        (error: unknown) =>
          error instanceof ClientError && error.code === "INVALID_OPTIONS",
        JSON.stringify(options),
      );
    }
  });
});
