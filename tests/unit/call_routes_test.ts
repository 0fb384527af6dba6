import assert from "node:assert/strict";
import { type CallRoute, CallRoutes } from "../../src/nats/client_routes.ts";

/** Records what a tick asks for, and whether the call was still there then. */
function recordingPort(routes: CallRoutes) {
  const done: string[] = [];
  return {
    done,
    port: {
      silent(id: number, route: CallRoute, silence: number) {
        done.push(
          `silent ${id} ${route.action} ${silence} ${
            routes.get(id) === route ? "still there" : "gone"
          }`,
        );
      },
      ping: (id: number, instance: string) =>
        void done.push(`ping ${id} ${instance}`),
    },
  };
}

Deno.test("call routes: a call is pinged once its instance is known and a heartbeat passed", () => {
  const routes = new CallRoutes();
  const { done, port } = recordingPort(routes);
  routes.open(1, "add", 0);
  routes.open(2, "feed", 0).learn("instance.a");
  routes.tick(999, 1_000, port);
  assert.deepEqual(done, []);
  routes.tick(1_000, 1_000, port);
  // Call 1's instance is not known: nobody to ping yet.
  assert.deepEqual(done, ["ping 2 instance.a"]);
  routes.tick(1_500, 1_000, port);
  assert.equal(done.length, 1, "pinged again only a heartbeat later");
});

Deno.test("call routes: a silent call is failed while its route is there (its cancel can go), then forgotten", async () => {
  const routes = new CallRoutes();
  const { done, port } = recordingPort(routes);
  const route = routes.open(1, "slow", 0);
  const instance = route.instanceKnown();
  routes.open(2, "fresh", 2_500);
  routes.tick(3_000, 1_000, port);
  assert.deepEqual(done, []);
  routes.tick(3_001, 1_000, port);
  assert.deepEqual(done, ["silent 1 slow 3001 still there"]);
  assert.equal(routes.get(1), undefined);
  assert.equal(routes.size, 1);
  assert.equal(
    await instance,
    undefined,
    "what waited for the instance is dropped",
  );
});

Deno.test("call routes: forget drops the route and what waited for its instance", async () => {
  const routes = new CallRoutes();
  const sent: string[] = [];
  const route = routes.open(7, "add", 0);
  route.toInstance((instance) => void sent.push(instance));
  routes.forget(7);
  route.learn("instance.late");
  assert.deepEqual(sent, []);
  assert.equal(await route.instanceKnown(), "instance.late");
  assert.equal(routes.size, 0);
  routes.forget(7); // Twice is fine.
});
