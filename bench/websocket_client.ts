/**
 * The isock-over-WebSocket system's client: the library's
 * {@linkcode Client} with a `ws:` URL, calling the echo action. Started
 * by bench/main.ts.
 *
 * @module
 */

import { Client } from "../mod.ts";
import { HOSTNAME, runClientProcess } from "./child.ts";
import { echo } from "./isock_echo.ts";

await runClientProcess("value", ({ port }) => {
  const client = new Client({ url: `ws://${HOSTNAME}:${port}/` });
  return Promise.resolve({
    echo: (payload) => client.runAction(echo, payload),
    close: () => client.close(),
  });
});
