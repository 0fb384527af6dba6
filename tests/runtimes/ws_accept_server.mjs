/**
 * A server on Node whose WebSockets come from the `ws` package: each
 * connection is handed to `server.accept(socket)`. Run by
 * tests/websocket_runtimes_test.ts; prints its port, and shuts down once
 * standard input ends.
 *
 * @module
 */

import { WebSocketServer } from "ws";
import { action, Server } from "../../mod.ts";

const server = new Server().addAction(
  action("echo", (value) => value),
);
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
wss.on("connection", (socket) => server.accept(socket));
await new Promise((resolve) => wss.once("listening", resolve));
console.log(`listening on ${wss.address().port}`);
process.stdin.resume();
await new Promise((resolve) => process.stdin.once("end", resolve));
await server.shutdown();
await new Promise((resolve) => wss.close(resolve));
process.stdin.pause();
