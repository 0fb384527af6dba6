/**
 * The gRPC peer's server, on Node: grpc-js serving bench/peers/echo.proto
 * (see grpc_echo.ts). Bundled and started by bench/main.ts.
 *
 * @module
 */

import process from "node:process";
import { promisify } from "node:util";
import { HOSTNAME, runServerProcess } from "./child.ts";
import {
  EchoService,
  grpc,
  type GrpcStreamRequest,
  type ServerStreamCall,
  type UnaryCallback,
} from "./grpc_echo.ts";
import { NODE_RUNTIME } from "./node_child.ts";
import { streamItem, type StreamRequest } from "./workloads.ts";

const echo = (call: { request: unknown }, callback: UnaryCallback) =>
  callback(null, call.request);

/**
 * Serves a stream workload's items, each as `message` makes it. It writes
 * while the call's Writable takes more (16 messages queued) and then waits
 * for "drain", the way Node streams are meant to be fed: without that, a
 * whole stream would pile up in memory, where isock holds a window of it.
 */
function serveStream(
  message: (item: unknown) => unknown,
): (call: ServerStreamCall) => void {
  const serve = async (call: ServerStreamCall) => {
    const { count, chunk_bytes } = call.request as GrpcStreamRequest;
    const request: StreamRequest = {
      count,
      chunkBytes: chunk_bytes || undefined,
    };
    for (let index = 0; index < count && !call.cancelled; index++) {
      if (!call.write(message(streamItem(request, index)))) {
        await drained(call);
      }
    }
    call.end();
  };
  return (call) =>
    void serve(call).catch((error) => {
      console.error("The server failed on a stream:", error);
      process.exitCode = 1;
    });
}

/** Resolves once the call takes more messages, or is cancelled. */
function drained(call: ServerStreamCall): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done).off("cancelled", done);
      resolve();
    };
    call.on("drain", done).on("cancelled", done);
  });
}

await runServerProcess(async () => {
  const server = new grpc.Server();
  server.addService(EchoService.service, {
    echoObject: echo,
    echoBytes: echo,
    streamObjects: serveStream((item) => item),
    streamBytes: serveStream((data) => ({ data })),
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
