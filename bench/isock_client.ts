/**
 * The isock system's client: the library's {@linkcode Client} calling the
 * echo action. Started by bench/main.ts.
 *
 * @module
 */

import { runClientProcess } from "./child.ts";
import { isockEchoClient } from "./isock_echo.ts";

await runClientProcess(
  "value",
  ({ port }) => Promise.resolve(isockEchoClient(port)),
);
