/**
 * The bare WebSocket echo's server: `Deno.serve` and
 * `Deno.upgradeWebSocket`, sending every binary message straight back; no
 * framing, no RPC. Started by bench/main.ts.
 *
 * @module
 */

import { HOSTNAME, runServerProcess } from "./child.ts";

await runServerProcess(() => {
  const sockets = new Set<WebSocket>();
  const http = Deno.serve(
    { hostname: HOSTNAME, port: 0, onListen() {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.binaryType = "arraybuffer";
      sockets.add(socket);
      socket.onmessage = (event) => socket.send(event.data);
      socket.onclose = () => sockets.delete(socket);
      return response;
    },
  );
  return Promise.resolve({
    port: http.addr.port,
    async stop() {
      for (const socket of sockets) socket.close();
      await http.shutdown();
    },
  });
});
