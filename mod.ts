/**
 * isock: run named actions on a server on another machine, and get the
 * result back (or the error the action raised) with rich data intact.
 *
 * A server registers actions, a name and a handler each; a client runs them
 * by reference (typed) or by name, over one persistent TCP connection that
 * carries many calls at once. Values travel as MessagePack, so `Date`,
 * `Map`, `Set`, `bigint`, binary data, `Error`s and your own classes arrive
 * as they left.
 *
 * @example Server and client in one program
 * ```ts
 * import { action, Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const echo = action("echo", (data: string) => data);
 * const time = action("time", () => new Date());
 *
 * await using server = new Server({ hostname: "127.0.0.1", port: 0 });
 * server.addAction(echo).addAction(time);
 * const { port } = await server.listen();
 *
 * await using client = new Client({ hostname: "127.0.0.1", port });
 * assert.equal(await client.runAction(echo, "Echo test!"), "Echo test!");
 * assert.ok((await client.runAction(time)) instanceof Date);
 * ```
 *
 * @module
 */

export {
  type Action,
  action,
  type ActionContext,
  type ActionHandler,
  type ActionInput,
  type ActionOptions,
  type ActionOutput,
} from "./src/dispatch/action.ts";
export type { ActionRef, Peer } from "./src/dispatch/peer.ts";
export type { Authenticate } from "./src/protocol/auth.ts";
export type { SchemaIssue, StandardSchemaV1 } from "./src/base/schema.ts";
export {
  type ActionArgs,
  type BalanceName,
  type CallOptions,
  Client,
  type ClientBaseOptions,
  type ClientEndpoint,
  ClientEvent,
  type ClientEventMap,
  type ClientOptions,
  type ClientTlsOptions,
  type ClientTransport,
  type ConnectDetail,
  type ConnectionOptions,
  type EndpointsClientOptions,
  type LeaveReason,
  type StreamArgs,
  type StreamCallOptions,
  type TcpClientOptions,
  type TransportClientOptions,
  type UnixClientOptions,
  type UrlClientOptions,
} from "./client.ts";
export {
  Codec,
  type CodecOptions,
  defineExtension,
  type Extension,
  type JsonMappingOptions,
  jsonToValue,
  type JsonValue,
  valueToJson,
} from "./codec.ts";
export {
  ClientError,
  type ClientErrorCode,
  CodecError,
  type CodecErrorCode,
  IsockError,
  type IsockErrorCode,
  ProtocolError,
  type ProtocolErrorCode,
  RemoteError,
  type RemoteErrorCode,
  type RemoteErrorDetails,
  ServerError,
  type ServerErrorCode,
} from "./src/base/errors.ts";
export { IsockEventTarget } from "./src/base/events.ts";
export {
  FrameDecoderStream,
  type FrameDecoderStreamOptions,
  FrameEncoderStream,
  type FrameEncoderStreamOptions,
  PROTOCOL_VERSION,
} from "./protocol.ts";
export { Metadata, type MetadataInit } from "./src/protocol/metadata.ts";
export {
  type ActionLastError,
  type ActionStats,
  type DisconnectDetail,
  Server,
  type ServerAddress,
  type ServerErrorDetail,
  type ServerEventMap,
  type ServerOptions,
  type ServerStats,
  type ServerTlsOptions,
  type ServerTransport,
  type ShutdownOptions,
  type StatsOptions,
  type UpgradeInfo,
  type WebSocketLike,
} from "./server.ts";
export type { CallInfo, Middleware, Next } from "./src/dispatch/middleware.ts";
export type {
  ActionDescription,
  JsonSchema,
  ServiceDescription,
} from "./src/dispatch/description.ts";
export { type StreamItem, Tracked, tracked } from "./src/protocol/stream.ts";
export type { PeerAddress } from "./src/wire/transport.ts";
