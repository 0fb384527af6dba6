/**
 * isock over NATS (`@isock/isock/nats`): one service name instead of
 * addresses, calls spread over the servers of the service by a NATS queue
 * group, no server → `UNAVAILABLE` at once, large payloads in pieces,
 * streams with credit, and servers that die or freeze detected by
 * heartbeats. The same `Server` and `Client`, actions, schemas, codec,
 * middleware and errors as over TCP; PROTOCOL.md, "Over NATS", has the wire
 * rules.
 *
 * This is the only module of isock that imports a NATS client
 * (`@nats-io/transport-node`); importing `@isock/isock` does not load it.
 *
 * @example Serve and call over NATS
 * ```ts ignore
 * import { action, Client, Server } from "@isock/isock";
 * import { natsTransport } from "@isock/isock/nats";
 *
 * const add = action("add", ([a, b]: [number, number]) => a + b);
 * const bus = natsTransport({ servers: "127.0.0.1:4222", service: "lab" });
 * await using server = new Server().addAction(add);
 * await server.listen(bus);
 * await using client = new Client({ transport: bus, timeout: 2000 });
 * console.log(await client.runAction(add, [2, 3])); // 5
 * await server.shutdown();
 * await bus.close();
 * ```
 *
 * @module
 */

import {
  connect,
  createInbox,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";

/**
 * TLS to the NATS server, as the NATS client takes it: files or PEM text
 * of the CA, and of this side's certificate and key for mutual TLS.
 */
export interface NatsTlsOptions {
  /** A file with the CA certificates to trust. */
  caFile?: string;
  /** The CA certificates to trust, PEM. */
  ca?: string;
  /** A file with this side's certificate. */
  certFile?: string;
  /** This side's certificate, PEM. */
  cert?: string;
  /** A file with this side's private key. */
  keyFile?: string;
  /** This side's private key, PEM. */
  key?: string;
  /** Start TLS before the NATS INFO (servers configured with `handshake_first`). */
  handshakeFirst?: boolean;
}

/** A message as a NATS.js subscription delivers it. */
export interface NatsClientMessage {
  /** The subject it was published to. */
  readonly subject: string;
  /** Its reply subject, if any. */
  readonly reply?: string;
  /** Its payload. */
  readonly data: Uint8Array;
  /** Its headers: a no-responders answer has `code` 503. */
  readonly headers?: { readonly code: number };
}

/**
 * A connection made by `connect()` of `@nats-io/transport-node` (or of
 * another NATS.js transport), as `natsTransport({ connection })` takes it:
 * the members isock uses.
 */
export interface NatsClientConnection {
  /** What the NATS server said about itself: its `max_payload`. */
  readonly info?: { readonly max_payload: number };
  /** Publishes a payload. */
  publish(
    subject: string,
    payload?: Uint8Array,
    options?: { reply?: string },
  ): void;
  /** Subscribes, with a callback. */
  subscribe(subject: string, options?: {
    queue?: string;
    callback?: (error: Error | null, message: NatsClientMessage) => void;
  }): { unsubscribe(): void; drain(): Promise<void> };
  /** Resolves once the server has seen everything published so far. */
  flush(): Promise<void>;
  /** The connection's events: disconnects and reconnects. */
  status(): AsyncIterable<{ readonly type: string }>;
  /** Resolves once the connection is closed. */
  closed(): Promise<void | Error>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** Whether the connection is closed. */
  isClosed(): boolean;
}
import { ClientError } from "./src/base/errors.ts";
import type { ClientTransport } from "./src/endpoint/client_transport.ts";
import type { ServerTransport } from "./src/endpoint/server_transport.ts";
import {
  type BusConnection,
  type BusMessage,
  DEFAULT_HEARTBEAT,
  DEFAULT_MAX_CALLERS,
  DEFAULT_MAX_CALLS,
  DEFAULT_MAX_REASSEMBLY_BYTES,
  DEFAULT_PREFIX,
  isServiceName,
  isSubjectPrefix,
} from "./src/nats/bus.ts";
import { connectFailure, NatsBus } from "./src/nats/nats_transport.ts";
import { MAX_TIMEOUT } from "./src/base/timers.ts";
import {
  listInstances as listInstancesOn,
  type ListInstancesOptions,
  type ServiceInstance,
} from "./src/nats/client_discovery.ts";

export type { ClientTransport, ServerTransport };
export { actionSubject } from "./src/nats/bus.ts";

/** Options of {@linkcode natsTransport}. */
export interface NatsTransportOptions {
  /**
   * The NATS servers to connect to: `"host:port"`, a `nats://` URL, or a
   * list of them. Leave out when `connection` is given.
   *
   * @default {"127.0.0.1:4222"}
   */
  servers?: string | string[];
  /**
   * A NATS connection opened by the caller, to use instead of opening one.
   * `bus.close()` leaves it open.
   */
  connection?: NatsClientConnection;
  /** The service name, shared by its servers: letters, digits, `_` and `-`. */
  service: string;
  /**
   * The queue group the service's servers share: each call goes to one of
   * them.
   *
   * @default {the service name}
   */
  queue?: string;
  /**
   * The first tokens of isock's subjects (`<prefix>.<service>.<action>`).
   *
   * @default {"isock"}
   */
  prefix?: string;
  /**
   * Milliseconds between liveness messages: a client pings each call that
   * runs longer this often and the server answers, and a side that hears
   * nothing about a call for three heartbeats takes the other for gone (a
   * server that died or froze fails its calls with `CONNECTION_CLOSED`; a
   * client that left has its calls stopped, their `signal` aborted). Use
   * the same value on servers and clients.
   *
   * @default {1000}
   */
  heartbeat?: number;
  /**
   * Server side: the most client inboxes one server instance keeps a state
   * for (each about 2 KiB). Callers with no call open are dropped first,
   * and anyway three heartbeats after their last call; beyond that, a new
   * inbox's call is refused with `OVERLOADED`, unrun.
   *
   * @default {10000}
   */
  maxCallers?: number;
  /**
   * Server side: the most calls one server instance runs at once, every
   * caller's together (streams until their end); more are refused with
   * `OVERLOADED`, unrun. Each caller's own limit is the server's
   * `maxInFlight`.
   *
   * @default {10000}
   */
  maxCalls?: number;
  /**
   * Server side: the most bytes one server instance holds for messages
   * larger than NATS's `max_payload` while their pieces arrive, every
   * caller's together; a message that does not fit fails its call with
   * `OVERLOADED`. Keep it at least the server's `maxFrameSize`.
   *
   * @default {134217728}
   */
  maxReassemblyBytes?: number;
  /** The connection's name, as the NATS server shows it. */
  name?: string;
  /** User name, for user/password authentication. */
  user?: string;
  /** Password, for user/password authentication. */
  pass?: string;
  /** Token, for token authentication. */
  token?: string;
  /**
   * An authenticator of the NATS client (`credsAuthenticator`,
   * `nkeyAuthenticator`, `jwtAuthenticator` from `@nats-io/transport-node`).
   */
  authenticator?: unknown;
  /** TLS to the NATS server. */
  tls?: NatsTlsOptions;
  /**
   * Any other option of the NATS client's `connect()` (see
   * `@nats-io/transport-node`); the options above win over the same ones
   * here.
   */
  connectOptions?: Readonly<Record<string, unknown>>;
  /**
   * The service's version, as discovery shows it (semantic versioning).
   *
   * @default {"0.0.0"}
   */
  version?: string;
  /**
   * A line about the service, as discovery shows it.
   *
   * @default {""}
   */
  description?: string;
  /** Strings about the service, as discovery shows them. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * A service on NATS: give it to `server.listen(bus)` to serve the server's
 * actions there, and to `new Client({ transport: bus })` to call them.
 */
export interface NatsTransport extends ClientTransport, ServerTransport {
  /** The service name. */
  readonly service: string;
  /** The queue group. */
  readonly queue: string;
  /** The subjects' prefix. */
  readonly prefix: string;
  /**
   * Closes the NATS connection if `natsTransport` opened it (servers still
   * serving on it stop first). Call it after the clients and servers using
   * it are closed.
   *
   * @returns Resolves once closed.
   */
  close(): Promise<void>;
  /** Closes the bus; for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Opens (or takes) a NATS connection for a service. The connection opens
 * in the background; calls and `server.listen(bus)` wait for it.
 *
 * @param options Where NATS is, the service, and the client's options.
 * @returns The bus.
 * @throws {ClientError} `INVALID_OPTIONS` for a bad service, queue, prefix,
 * heartbeat or bound.
 *
 * @example Service names are NATS tokens
 * ```ts
 * import { natsTransport } from "@isock/isock/nats";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => natsTransport({ service: "my lab" }),
 *   (error: Error & { code?: string }) => error.code === "INVALID_OPTIONS",
 * );
 * ```
 */
export function natsTransport(options: NatsTransportOptions): NatsTransport {
  const settings = readOptions(options);
  const given = options.connection;
  // The latest try at opening the connection: the bus tries again at its
  // next use after a failed one (NatsBus.connection).
  let opened: Promise<NatsClientConnection> | undefined;
  const open = (): Promise<NatsClientConnection> => {
    if (given !== undefined) return Promise.resolve(given);
    // Upstream caveat (nats.js 3.4.0 on Deno 2.9): when the NATS server
    // refuses the credentials and resets the socket, nats.js removes the
    // socket's listeners while Deno still has the reset's 'error' queued,
    // which then crashes the process as an uncaught ECONNRESET (about 1 run
    // in 8). isock never holds that socket, so it cannot catch it; Node and
    // Bun are not affected. The race, without NATS: a read's reset calls
    // socket.destroy(err), whose 'error' waits for the next tick; a
    // microtask in between runs removeAllListeners().
    return connect(connectOptions(options)).catch((error) => {
      throw connectFailure([options.servers ?? "127.0.0.1:4222"].flat(), error);
    });
  };
  const bus = new NatsBus(
    () => {
      opened = open();
      return opened.then(adapt);
    },
    settings,
    async () => {
      if (given !== undefined) return;
      const connection = await opened?.catch(() => undefined);
      if (connection !== undefined && !connection.isClosed()) {
        await connection.close();
      }
    },
  );
  return bus;
}

function readOptions(options: NatsTransportOptions) {
  const fail = (message: string) => new ClientError("INVALID_OPTIONS", message);
  if (typeof options !== "object" || options === null) {
    throw fail("natsTransport() takes an options object with a service name.");
  }
  const count = (
    name: "maxCallers" | "maxCalls" | "maxReassemblyBytes",
    fallback: number,
  ): number => {
    const value = options[name] ?? fallback;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw fail(`Option ${name} must be a whole number from 1; got ${value}.`);
    }
    return value;
  };
  const { service, queue = service, prefix = DEFAULT_PREFIX } = options;
  for (const [name, value] of [["service", service], ["queue", queue]]) {
    if (!isServiceName(value)) {
      throw fail(
        `Option ${name} must be a name of letters, digits, "_" and "-"; got ${
          JSON.stringify(value)
        }.`,
      );
    }
  }
  if (!isSubjectPrefix(prefix)) {
    throw fail(
      `Option prefix must be subject tokens of letters, digits, "_" and "-" joined by dots; got ${
        JSON.stringify(prefix)
      }.`,
    );
  }
  const heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT;
  if (
    !Number.isInteger(heartbeat) || heartbeat < 10 || heartbeat > MAX_TIMEOUT
  ) {
    throw fail(
      `Option heartbeat must be a whole number of milliseconds from 10; got ${heartbeat}.`,
    );
  }
  const maxCallers = count("maxCallers", DEFAULT_MAX_CALLERS);
  const maxCalls = count("maxCalls", DEFAULT_MAX_CALLS);
  const maxReassemblyBytes = count(
    "maxReassemblyBytes",
    DEFAULT_MAX_REASSEMBLY_BYTES,
  );
  if (options.servers !== undefined && options.connection !== undefined) {
    throw fail("Give natsTransport() servers or a connection, not both.");
  }
  return {
    service,
    queue,
    prefix,
    heartbeat,
    maxCallers,
    maxCalls,
    maxReassemblyBytes,
    version: options.version ?? "0.0.0",
    description: options.description ?? "",
    metadata: options.metadata ?? {},
  };
}

/** The NATS client's options: reconnecting forever, quickly, by default. */
function connectOptions(options: NatsTransportOptions): NodeConnectionOptions {
  const given: NodeConnectionOptions = {
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...options.connectOptions as NodeConnectionOptions,
    servers: options.servers ??
      (options.connectOptions?.servers as string | string[] | undefined) ??
      "127.0.0.1:4222",
  };
  if (options.name !== undefined) given.name = options.name;
  if (options.user !== undefined) given.user = options.user;
  if (options.pass !== undefined) given.pass = options.pass;
  if (options.token !== undefined) given.token = options.token;
  if (options.authenticator !== undefined) {
    given.authenticator = options
      .authenticator as NodeConnectionOptions["authenticator"];
  }
  if (options.tls !== undefined) given.tls = options.tls;
  return given;
}

/** A NATS connection as isock's narrow {@linkcode BusConnection}. */
function adapt(connection: NatsClientConnection): BusConnection {
  let isConnected = true;
  const listeners = new Set<(isConnected: boolean) => void>();
  const tell = (now: boolean) => {
    if (now === isConnected) return;
    isConnected = now;
    for (const listener of listeners) listener(now);
  };
  (async () => {
    for await (const status of connection.status()) {
      if (status.type === "disconnect") tell(false);
      else if (status.type === "reconnect") tell(true);
    }
  })().catch(() => {});
  connection.closed().then(() => tell(false));
  return {
    get maxPayload() {
      return connection.info?.max_payload ?? 1024 * 1024;
    },
    get isConnected() {
      return isConnected && !connection.isClosed();
    },
    publish(subject, data, reply) {
      connection.publish(
        subject,
        data,
        reply === undefined ? undefined : { reply },
      );
    },
    subscribe(subject, { queue, callback }) {
      const subscription = connection.subscribe(subject, {
        queue,
        callback: (error, message) => {
          if (error !== null) return;
          const bus: BusMessage = {
            subject: message.subject,
            reply: message.reply || undefined,
            data: message.data,
            status: message.data.length === 0
              ? message.headers?.code || undefined
              : undefined,
          };
          callback(bus);
        },
      });
      return {
        unsubscribe: () => subscription.unsubscribe(),
        drain: () => subscription.drain(),
      };
    },
    newInbox: () => createInbox(),
    flush: () => connection.flush(),
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type {
  InstanceEndpoint,
  InstanceStats,
  ListInstancesOptions,
  ServiceInstance,
} from "./src/nats/client_discovery.ts";
// Referenced by the types above: `deno doc --lint nats.ts` wants them
// public from this entry point too (mod.ts exports the same types).
export type {
  ActionLastError,
  ActionStats,
} from "./src/dispatch/action_stats.ts";
export type { JsonSchema } from "./src/dispatch/description.ts";

/**
 * Lists the running instances of a service with their actions and stats,
 * through NATS micro discovery (`$SRV.INFO` and `$SRV.STATS`): one entry
 * per `server.listen(bus)` that answered within the time.
 *
 * @example Where nothing answers
 * ```ts
 * import { listInstances, natsTransport } from "@isock/isock/nats";
 * import assert from "node:assert/strict";
 *
 * // With a nats-server at 127.0.0.1:4222 and servers listening on the bus:
 * // for (const { id, stats } of await listInstances(bus)) console.log(id, stats);
 * await using bus = natsTransport({ servers: "127.0.0.1:1", service: "lab" });
 * await assert.rejects(
 *   listInstances(bus, { timeout: 500 }),
 *   (error: Error & { code?: string }) => error.code === "CONNECT_FAILED",
 * );
 * ```
 *
 * @param bus A bus on the NATS connection to ask over.
 * @param options Which service (the bus's own by default), how long to wait.
 * @returns The instances, sorted by name, then id.
 * @throws {ClientError} `INVALID_OPTIONS` on a bad service, id or time, or
 * a bus `natsTransport()` did not make; `CONNECT_FAILED` when the bus cannot
 * connect.
 */
export async function listInstances(
  bus: NatsTransport,
  options: ListInstancesOptions = {},
): Promise<ServiceInstance[]> {
  if (!(bus instanceof NatsBus)) {
    throw new ClientError(
      "INVALID_OPTIONS",
      "listInstances() takes a bus made by natsTransport().",
    );
  }
  const connection = await bus.connection;
  return await listInstancesOn(connection, {
    ...options,
    service: options.service ?? bus.service,
  });
}
