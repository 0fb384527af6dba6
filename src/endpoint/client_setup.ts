/**
 * What a `Client` is built from: its options read and checked, in the order
 * the client always checked them, into the connector, the registry of the
 * actions it offers, and the calls that go through the connector.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { checkExtensions } from "../codec/extension.ts";
import { MessageCodec } from "../protocol/message_codec.ts";
import { ActionRegistry } from "../dispatch/registry.ts";
import { Backoff } from "./backoff.ts";
import {
  checkReflection,
  checkSecret,
  CONNECTION_LIMITS,
  readIntegerOptions,
  readPath,
} from "./connection_options.ts";
import {
  checkClientTls,
  CLIENT_OPTIONS,
  type ClientEventMap,
  type ClientOptions,
} from "./client_options.ts";
import { ClientCalls } from "./client_calls.ts";
import { Connector } from "./connector.ts";
import type { ClientLink } from "./client_link.ts";
import type { ConnectDetail, LeaveReason } from "./client_event.ts";
import { readEndpoints } from "./endpoints_option.ts";
import { EndpointPool } from "./endpoint_pool.ts";
import { balanceNamed } from "./balance.ts";
import { asLinkFactory } from "./client_transport.ts";
import { readUrl } from "./url_option.ts";
import { urlPeer } from "../wire/websocket_transport.ts";

/**
 * Dispatches one of the client's events, about the server `endpoint`;
 * for a `disconnect` of one of several, why it left the rotation.
 */
export type ClientEmit = <K extends keyof ClientEventMap & string>(
  type: K,
  detail: ClientEventMap[K]["detail"],
  endpoint?: ConnectDetail,
  reason?: LeaveReason,
) => void;

/** The parts a `Client` runs with. */
export interface ClientParts {
  /** Opens, reopens and closes the connection. */
  readonly link: ClientLink;
  /** The actions the client offers its server. */
  readonly actions: ActionRegistry;
  /** Sends calls and streams through the connector. */
  readonly calls: ClientCalls;
}

/**
 * Reads a client's options and builds what it runs with.
 *
 * @param options The client's options, as given.
 * @param emit Dispatches the client's `connect`, `disconnect` and `error`.
 * @returns The connector, the action registry and the calls.
 * @throws {ClientError} `INVALID_OPTIONS` for a bad option.
 * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
 */
export function setUpClient(
  options: ClientOptions,
  emit: ClientEmit,
): ClientParts {
  if (options?.transport !== undefined) {
    return setUpTransportClient(options, emit);
  }
  const url = readUrl(
    options as ClientOptions & Record<string, unknown>,
    invalidOption,
  );
  const several = readEndpoints(options, invalidOption);
  const path = readPath(options, invalidOption);
  checkClientTls(options.tls, invalidOption);
  // A Unix socket has no port.
  const { port, retry, retryDelay, maxRetryDelay, timeout } =
    readIntegerOptions(
      CLIENT_OPTIONS,
      path === undefined && several === undefined && url === undefined
        ? options
        : { ...options, port: 0 },
      invalidOption,
    );
  const limits = readIntegerOptions(
    CONNECTION_LIMITS,
    options,
    invalidOption,
  );
  checkSecret(options.secret, invalidOption);
  checkReflection(options.reflection, invalidOption);
  const actions = new ActionRegistry(
    (code, message) => new ClientError(code, message),
    { reflection: options.reflection },
  );
  const codec = new MessageCodec(checkExtensions(options.extensions ?? []));
  const peer = url === undefined ? undefined : urlPeer(url);
  const hostname = peer?.hostname ?? options.hostname ?? "127.0.0.1";
  const shared = {
    tls: options.tls,
    secret: options.secret,
    credentials: options.credentials,
  };
  const endpoint = { role: "client", codec, limits, actions } as const;
  const backoff = new Backoff(retryDelay, maxRetryDelay);
  if (several !== undefined) {
    const pool = new EndpointPool(
      several.endpoints.map((address) => ({ ...address, ...shared })),
      endpoint,
      Math.max(1, retry),
      backoff,
      balanceNamed(several.balance),
      {
        connect: (at) => emit("connect", at, at),
        disconnect: (reason, at, leaving) =>
          emit("disconnect", reason, at, leaving),
        error: (error, at) => emit("error", error, at),
      },
    );
    const calls = new ClientCalls(pool, timeout, pool.peers[0]);
    return { link: pool, actions, calls };
  }
  const detail: ConnectDetail = peer !== undefined
    ? { hostname, port: peer.port }
    : path === undefined
    ? { hostname, port }
    : { hostname: path, port: 0, path };
  const connector = new Connector(
    { hostname, port: peer?.port ?? port, path, url, ...shared },
    endpoint,
    Math.max(1, retry),
    backoff,
    {
      connect: () => emit("connect", detail, detail),
      disconnect: (reason) => emit("disconnect", reason, detail),
      error: (error) => emit("error", error, detail),
    },
  );
  const calls = new ClientCalls(
    connector,
    timeout,
    peer ?? { hostname, port, transport: "tcp" },
  );
  return { link: connector, actions, calls };
}

/** A client whose calls go through a transport (a bus) instead of TCP. */
function setUpTransportClient(
  options: ClientOptions,
  emit: ClientEmit,
): ClientParts {
  const transport = asLinkFactory(options.transport);
  if (transport === undefined) {
    throw invalidOption(
      "Option transport takes what natsTransport() (from @isock/isock/nats) returns.",
    );
  }
  for (const name of TCP_ONLY) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw invalidOption(
        `Option ${name} is for TCP; a client with a transport takes neither ${
          TCP_ONLY.join(", ")
        }.`,
      );
    }
  }
  const { retry, retryDelay, maxRetryDelay, timeout } = readIntegerOptions(
    CLIENT_OPTIONS,
    { ...options, port: 0 },
    invalidOption,
  );
  const { maxFrameSize } = readIntegerOptions(
    CONNECTION_LIMITS,
    options,
    invalidOption,
  );
  checkReflection(options.reflection, invalidOption);
  const actions = new ActionRegistry(
    (code, message) => new ClientError(code, message),
    { reflection: options.reflection },
  );
  // The service, as the events' detail says where the calls go.
  const at: ConnectDetail = { hostname: transport.address.hostname, port: 0 };
  const link = transport.openLink({
    codec: new MessageCodec(checkExtensions(options.extensions ?? [])),
    maxFrameSize,
    attempts: Math.max(1, retry),
    backoff: new Backoff(retryDelay, maxRetryDelay),
    events: {
      connect: () => emit("connect", at, at),
      disconnect: (reason) => emit("disconnect", reason, at),
      error: (error) => emit("error", error, at),
    },
  });
  const calls = new ClientCalls(link, timeout, transport.address);
  return { link, actions, calls };
}

/** Options that say where a TCP server is: a client with a transport has none. */
const TCP_ONLY = [
  "hostname",
  "port",
  "path",
  "tls",
  "secret",
  "credentials",
  "endpoints",
  "url",
] as const;

function invalidOption(message: string): ClientError {
  return new ClientError("INVALID_OPTIONS", message);
}
