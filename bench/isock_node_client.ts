/**
 * The isock system's client on Node or Bun: the same as isock_client.ts,
 * with the arguments of node:process. Started by bench/main.ts.
 *
 * @module
 */

import { runClientProcess } from "./child.ts";
import { isockEchoClient } from "./isock_echo.ts";
import { NODE_RUNTIME } from "./node_child.ts";

await runClientProcess(
  "value",
  ({ port }) => Promise.resolve(isockEchoClient(port)),
  NODE_RUNTIME,
);
