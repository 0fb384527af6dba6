/**
 * One client, three servers with the same actions: calls are spread over
 * them; one server shuts down mid-way and no call is lost; it comes back
 * on its port, on probation (idempotent calls only) until it has stayed up
 * for three heartbeat intervals, and then takes every call again.
 *
 *     deno run --allow-net examples/endpoints.ts
 *
 * @module
 */

import { action, Client, Server } from "@isock/isock";

/** Which server answered: each server's handler says its own name. */
const whoami = action<undefined, string>("whoami");
/** Reading a sensor: safe to run twice, so the client may send it again. */
const readSensor = action<undefined, number>("readSensor", {
  idempotent: true,
});

function labServer(name: string, port = 0): Server {
  return new Server({ hostname: "127.0.0.1", port })
    .addAction(whoami, () => name)
    .addAction(readSensor, () => 21.5);
}

/** Counts which server took each of `count` calls made 10 at a time. */
async function spread(client: Client, count: number) {
  const taken: Record<string, number> = {};
  for (let sent = 0; sent < count; sent += 10) {
    const names = await Promise.all(
      Array.from({ length: 10 }, () => client.runAction(whoami)),
    );
    for (const name of names) taken[name] = (taken[name] ?? 0) + 1;
  }
  return taken;
}

const servers = [labServer("rig-1"), labServer("rig-2"), labServer("rig-3")];
const ports: number[] = [];
for (const server of servers) ports.push((await server.listen()).port);

const client = new Client({
  endpoints: ports.map((port) => ({ hostname: "127.0.0.1", port })),
  timeout: 5_000,
  retryDelay: 50, // A server out of rotation is tried again after ~50 ms, then less often.
  heartbeatInterval: 100, // A server back is stable once up 3 intervals: 300 ms.
});
const connected = new Set<number>();
const allConnected = new Promise<void>((resolve) =>
  client.addEventListener("connect", (event) => {
    connected.add(event.endpoint!.port);
    if (connected.size === ports.length) resolve();
  })
);
client.addEventListener("disconnect", (event) => {
  console.log(`disconnected from ${event.endpoint?.port}`);
});
await client.connect();
await allConnected;

console.log("### Three servers");
console.log(await spread(client, 30));

console.log("### rig-2 shuts down");
await servers[1].shutdown();
console.log(await spread(client, 30));
console.log("sensor:", await client.runAction(readSensor));

console.log("### rig-2 is back");
const back = new Promise<void>((resolve) =>
  client.addEventListener("connect", (event) => {
    if (event.endpoint?.port === ports[1]) resolve();
  })
);
servers[1] = labServer("rig-2", ports[1]);
await servers[1].listen();
await back;
console.log("sensor:", await client.runAction(readSensor)); // rig-2 may take it
await new Promise((resolve) => setTimeout(resolve, 400)); // Its probation ends.
console.log(await spread(client, 30));

await client.close();
for (const server of servers) await server.shutdown();
