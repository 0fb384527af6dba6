/**
 * The gRPC peer's server, on Node: grpc-js serving bench/peers/echo.proto
 * (see grpc_echo.ts). Bundled and started by bench/main.ts.
 *
 * @module
 */

import { promisify } from "node:util";
import { HOSTNAME, runServerProcess } from "./child.ts";
import { EchoService, grpc, type UnaryCallback } from "./grpc_echo.ts";
import { NODE_RUNTIME } from "./node_child.ts";

const echo = (call: { request: unknown }, callback: UnaryCallback) =>
  callback(null, call.request);

await runServerProcess(async () => {
  const server = new grpc.Server();
  server.addService(EchoService.service, {
    echoObject: echo,
    echoBytes: echo,
  });
  const port = await promisify(server.bindAsync.bind(server))(
    `${HOSTNAME}:0`,
    grpc.ServerCredentials.createInsecure(),
  );
  return {
    port,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(resolve)),
  };
}, NODE_RUNTIME);
