/**
 * The gRPC peer's service, shared by its server and client: @grpc/grpc-js
 * with the service loaded from bench/peers/echo.proto by
 * @grpc/proto-loader, the way most Node users define one.
 *
 * @module
 */

import { requirePeer } from "./node_child.ts";

/** Node's callback for a unary call's answer. */
export type UnaryCallback = (error: Error | null, answer?: unknown) => void;

/** The little of @grpc/grpc-js the peer uses. */
export interface GrpcJs {
  Server: new () => {
    addService(
      service: unknown,
      handlers: Record<
        string,
        (call: { request: unknown }, callback: UnaryCallback) => void
      >,
    ): void;
    bindAsync(
      address: string,
      credentials: unknown,
      callback: (error: Error | null, port: number) => void,
    ): void;
    tryShutdown(callback: () => void): void;
  };
  ServerCredentials: { createInsecure(): unknown };
  credentials: { createInsecure(): unknown };
  loadPackageDefinition(definition: unknown): {
    isockbench: { Echo: EchoServiceClient };
  };
}

/** A client of the echo service, as grpc-js makes it from the .proto. */
export interface EchoStub {
  echoObject(request: unknown, callback: UnaryCallback): void;
  echoBytes(request: { data: Uint8Array }, callback: UnaryCallback): void;
  close(): void;
}

/** The client class grpc-js makes for the service, with its definition. */
export type EchoServiceClient =
  & (new (
    address: string,
    credentials: unknown,
    options: Record<string, number>,
  ) => EchoStub)
  & { service: unknown };

interface ProtoLoader {
  loadSync(path: string, options: Record<string, unknown>): unknown;
}

/** The package, loaded from bench/peers. */
export const grpc = requirePeer("@grpc/grpc-js") as GrpcJs;

/** The echo service's client class; its `service` is the definition. */
export const EchoService: EchoServiceClient = grpc.loadPackageDefinition(
  (requirePeer("@grpc/proto-loader") as ProtoLoader).loadSync("echo.proto", {
    // Field names as written, and int64 as a JS number: the object comes
    // back as it was sent.
    keepCase: true,
    longs: Number,
  }),
).isockbench.Echo;
