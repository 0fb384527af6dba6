/**
 * The client half of the two-process example:
 *
 *     deno task client [hostname] [port]
 *
 * It needs only --allow-net.
 *
 * @module
 */

import { Client, RemoteError } from "@isock/isock";
import { echo, exec, execHistory, time } from "./actions.ts";

const hostname = Deno.args[0] ?? "127.0.0.1";
const port = Number(Deno.args[1] ?? 4440);
await using client = new Client({ hostname, port, retry: 5 });

console.log("### Echo test");
console.log(await client.runAction(echo, "Echo test!"));

console.log("### Exec test");
try {
  console.log((await client.runAction(exec, ["hostname"])).trim());
} catch (error) {
  // The server's error arrives as a RemoteError: here, a command it could not run.
  if (!(error instanceof RemoteError)) throw error;
  console.log(
    `The server could not run it: ${error.remoteName}: ${error.message}`,
  );
}

console.log("### Exec history");
console.log(await client.runAction(execHistory));

console.log("### Server time");
console.log(await client.runAction(time));
