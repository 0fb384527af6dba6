/**
 * The classic isock example: a server with four actions and a client that
 * runs each, in one program. Run it with `deno task example`.
 *
 * @module
 */

import { Client, Server } from "@isock/isock";
import { addExampleActions, echo, exec, execHistory, time } from "./actions.ts";

// Server startup: port 0 picks a free port.
const server = addExampleActions(
  new Server({ hostname: "127.0.0.1", port: 0 }),
);
const { hostname, port } = await server.listen();

// Client session.
const client = new Client({ hostname, port, retry: 3 });

console.log("### Echo test");
console.log(await client.runAction(echo, "Echo test!"));

console.log("### Exec test");
console.log(
  (await client.runAction(exec, [Deno.execPath(), "--version"])).trim(),
);

console.log("### Exec history");
console.log(await client.runAction(execHistory));

console.log("### Server time");
console.log(await client.runAction(time));

// Shutdown.
await client.close();
await server.shutdown();
