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

/** A server-streaming call on the server: a Node Writable of messages. */
export interface ServerStreamCall {
  readonly request: unknown;
  /** Whether the client cancelled the call. */
  readonly cancelled: boolean;
  /** Queues a message; false when the queue is full, until "drain". */
  write(message: unknown): boolean;
  end(): void;
  on(event: "drain" | "cancelled", listener: () => void): this;
  off(event: "drain" | "cancelled", listener: () => void): this;
}

/** A server-streaming call on the client: a Node Readable of messages. */
export interface ClientStreamCall extends AsyncIterable<unknown> {
  /** Ends the call; it then emits a CANCELLED error. */
  cancel(): void;
  on(event: "error", listener: (error: Error) => void): this;
}

/** The little of @grpc/grpc-js the peer uses. */
export interface GrpcJs {
  Server: new () => {
    addService(
      service: unknown,
      handlers: Record<
        string,
        | ((call: { request: unknown }, callback: UnaryCallback) => void)
        | ((call: ServerStreamCall) => void)
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

/** The .proto's StreamRequest: workloads.ts's, in protobuf's field names. */
export interface GrpcStreamRequest {
  readonly count: number;
  readonly chunk_bytes?: number;
}

/** A client of the echo service, as grpc-js makes it from the .proto. */
export interface EchoStub {
  echoObject(request: unknown, callback: UnaryCallback): void;
  echoBytes(request: { data: Uint8Array }, callback: UnaryCallback): void;
  streamObjects(request: GrpcStreamRequest): ClientStreamCall;
  streamBytes(request: GrpcStreamRequest): ClientStreamCall;
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
    // Field names as written, int64 as a JS number, and fields at their
    // default value present (W5's first id is 0): the object comes back as
    // it was sent.
    keepCase: true,
    longs: Number,
    defaults: true,
  }),
).isockbench.Echo;
