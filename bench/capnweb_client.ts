/**
 * The capnweb peer's client, on Node: a WebSocket session whose main stub's
 * `echo` is called (see capnweb_echo.ts). Bundled and started by
 * bench/main.ts.
 *
 * @module
 */

import { capnweb, ws } from "./capnweb_echo.ts";
import { HOSTNAME, runClientProcess } from "./child.ts";
import { NODE_RUNTIME } from "./node_child.ts";

await runClientProcess("value", ({ port }) => {
  const socket = new ws.WebSocket(`ws://${HOSTNAME}:${port}`);
  const api = capnweb.newWebSocketRpcSession(socket);
  return Promise.resolve({
    echo: (payload) => api.echo(payload),
    close: () => {
      api[Symbol.dispose]();
      socket.close();
    },
  });
}, NODE_RUNTIME);
