/**
 * A client's options: their types, documented for users (a union of the
 * ways to reach servers), and how they are read (defaults, bounds and
 * checks) into the {@linkcode ClientConfig} the client runs with; among
 * them `endpoints` and `balance`: a non-empty list of servers, each a TCP
 * address or a Unix socket path.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import { checkCertificate } from "../wire/tls_sockets.ts";
import {
  checkIntegerOption,
  CLIENT_PORT,
  type ConnectionConfig,
  type ConnectionOptions,
  type OptionError,
  parseOptions,
  readConnectionConfig,
  readPath,
  type Rows,
} from "./options.ts";
import type { ClientEvent, ConnectDetail } from "./client_event.ts";
import {
  asLinkFactory,
  type ClientTransport,
  type LinkFactory,
} from "./client_transport.ts";

/**
 * What every {@linkcode ClientOptions} takes, however the client reaches
 * its servers: the tries, the default deadline, and what both ends take
 * ({@linkcode ConnectionOptions}).
 */
export interface ClientBaseOptions extends ConnectionOptions {
  /**
   * How many times to try to connect before a call fails with
   * `CONNECT_FAILED` (a server certificate the client does not accept fails
   * at once, with `TLS_FAILED`). The waits between tries grow exponentially from
   * `retryDelay`, with jitter. An idempotent action whose connection drops
   * under it is sent again, for at most this many tries in all, the first
   * included.
   *
   * With `endpoints`, a server that does not answer leaves the rotation at
   * its first failed try, and is tried again in the background, the waits
   * growing from `retryDelay` to `maxRetryDelay`, for as long as the client
   * is open; `retry` bounds the tries of a dropped idempotent call, each on
   * another server. A server back after a drop is on probation until its
   * connection has stayed up for three `heartbeatInterval`s (30 s with the
   * default interval; 30 s also with heartbeats off): it takes only
   * idempotent calls while another server can take the others. One that
   * drops again on probation (a crash loop) is tried again one backoff
   * step later each time, and from `retryDelay` again once a connection
   * has stayed up.
   *
   * @default {3}
   */
  retry?: number;
  /**
   * The wait after the first failed try, in milliseconds; each later wait
   * doubles, up to `maxRetryDelay`, and is shortened by up to half at random
   * so that many clients do not retry in step.
   *
   * @default {100}
   */
  retryDelay?: number;
  /**
   * The longest wait between tries, in milliseconds.
   *
   * @default {2000}
   */
  maxRetryDelay?: number;
  /**
   * The default deadline of every call, in milliseconds: a call not
   * answered in time rejects with `TIMEOUT`, and its handler's signal on the
   * server aborts. 0 waits as long as it takes. A call's own `timeout`
   * option overrides it.
   *
   * @default {0}
   */
  timeout?: number;
}

/** A client of one server over TCP (TLS with `tls`). */
export interface TcpClientOptions extends ClientBaseOptions {
  /**
   * The server's host name or IP address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The server's port. */
  port: number;
  /**
   * Connect over TLS: `true` trusts the usual certificate authorities;
   * `caCerts` trusts yours instead (PEM), as for a self-signed server
   * certificate. A certificate the client does not accept fails the call at
   * once with `TLS_FAILED`. `cert` and `key` present a client certificate
   * to a server that requires one (mutual TLS).
   */
  tls?: boolean | ClientTlsOptions;
  /** What to send to the server's `authenticate` function: a token, say. */
  credentials?: unknown;
  /** Not with `port`: a Unix socket is {@linkcode UnixClientOptions}. */
  path?: never;
  /** Not with `port`: several servers are {@linkcode EndpointsClientOptions}. */
  endpoints?: never;
  /** Not with `port`: `balance` is for `endpoints`. */
  balance?: never;
  /** Not with `port`: a transport is {@linkcode TransportClientOptions}. */
  transport?: never;
  /** Not with `port`: a WebSocket server is {@linkcode UrlClientOptions}. */
  url?: never;
}

/** A client of one server on a Unix socket. */
export interface UnixClientOptions extends ClientBaseOptions {
  /**
   * Connect to the Unix socket at this path instead of TCP (not with
   * `hostname` or `port`). Deno needs `--allow-read --allow-write` for the
   * path, besides `--allow-net`.
   */
  path: string;
  /**
   * Connect over TLS: `true` trusts the usual certificate authorities;
   * `caCerts` trusts yours instead (PEM), as for a self-signed server
   * certificate. A certificate the client does not accept fails the call at
   * once with `TLS_FAILED`. `cert` and `key` present a client certificate
   * to a server that requires one (mutual TLS).
   */
  tls?: boolean | ClientTlsOptions;
  /** What to send to the server's `authenticate` function: a token, say. */
  credentials?: unknown;
  /** Not with `path`, which replaces it. */
  hostname?: never;
  /** Not with `path`, which replaces it. */
  port?: never;
  /** Not with `path`: several servers are {@linkcode EndpointsClientOptions}. */
  endpoints?: never;
  /** Not with `path`: `balance` is for `endpoints`. */
  balance?: never;
  /** Not with `path`: a transport is {@linkcode TransportClientOptions}. */
  transport?: never;
  /** Not with `path`: a WebSocket server is {@linkcode UrlClientOptions}. */
  url?: never;
}

/** A client of several servers with the same actions. */
export interface EndpointsClientOptions extends ClientBaseOptions {
  /**
   * Several servers with the same actions, instead of `hostname`, `port`
   * and `path`: the client keeps a connection to each, spreads calls over
   * them (see `balance`), takes a server whose connection drops, fails its
   * heartbeats or says goodbye (it is shutting down) out of rotation, and
   * tries it again in the background with backoff until it answers. A call
   * sent again (one never sent, one the server refused unrun, an
   * `idempotent` one whose connection dropped) goes to another server; a
   * stream stays on one server (a stream of `tracked` items resumes on
   * another). With no server connected, calls fail at once with
   * `UNAVAILABLE`. The other options (`tls`, `secret`, `retry`, `timeout`…)
   * apply to every server. Events say which server in `event.endpoint`; a
   * server that is down gets one `error` event (its first failed try), not
   * one per background try.
   *
   * @example Three servers, calls spread over them
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * const whoami = (name: string) => action("whoami", () => name);
   * await using a = new Server().addAction(whoami("a"));
   * await using b = new Server().addAction(whoami("b"));
   * await using c = new Server().addAction(whoami("c"));
   * await using client = new Client({
   *   endpoints: [
   *     { port: (await a.listen()).port },
   *     { port: (await b.listen()).port },
   *     { hostname: "127.0.0.1", port: (await c.listen()).port },
   *   ],
   * });
   * let connected = 0;
   * client.addEventListener("connect", () => connected++);
   * await client.connect(); // Resolves at the first connection; the others follow.
   * while (connected < 3) await new Promise((resolve) => setTimeout(resolve, 1));
   * const seen = new Set();
   * for (let i = 0; i < 3; i++) seen.add(await client.runAction("whoami"));
   * assert.deepStrictEqual([...seen].sort(), ["a", "b", "c"]);
   * ```
   */
  endpoints: readonly ClientEndpoint[];
  /**
   * With `endpoints`: how calls are spread. `"round-robin"` sends each
   * call to the next server in rotation, in turn; `"first-healthy"` sends
   * every call to the first server in rotation, in the order given (the
   * others stand by for when it is out).
   *
   * @default {"round-robin"}
   */
  balance?: BalanceName;
  /**
   * Connect over TLS: `true` trusts the usual certificate authorities;
   * `caCerts` trusts yours instead (PEM), as for a self-signed server
   * certificate. A certificate the client does not accept fails the call at
   * once with `TLS_FAILED`. `cert` and `key` present a client certificate
   * to a server that requires one (mutual TLS).
   */
  tls?: boolean | ClientTlsOptions;
  /** What to send to the server's `authenticate` function: a token, say. */
  credentials?: unknown;
  /** Not with `endpoints`: give each server's address there. */
  hostname?: never;
  /** Not with `endpoints`: give each server's address there. */
  port?: never;
  /** Not with `endpoints`: give each server's address there. */
  path?: never;
  /** Not with `endpoints`: a transport is {@linkcode TransportClientOptions}. */
  transport?: never;
  /** Not with `endpoints`: give each server's address there. */
  url?: never;
}

/** A client whose servers are reached another way: through a message bus. */
export interface TransportClientOptions extends ClientBaseOptions {
  /**
   * Reach the servers through this instead of a TCP connection: the bus
   * `natsTransport()` from `@isock/isock/nats` returns. Takes no
   * `hostname`, `port`, `path`, `tls` or `secret`.
   */
  transport: ClientTransport;
  /** Not with `transport`: it says where the servers are. */
  hostname?: never;
  /** Not with `transport`: it says where the servers are. */
  port?: never;
  /** Not with `transport`: it says where the servers are. */
  path?: never;
  /** Not with `transport`: it says where the servers are. */
  endpoints?: never;
  /** Not with `transport`: `balance` is for `endpoints`. */
  balance?: never;
  /** Not with `transport`: TLS is the transport's own. */
  tls?: never;
  /** Not with `transport`: authentication is the transport's own. */
  secret?: never;
  /** Not with `transport`: authentication is the transport's own. */
  credentials?: never;
  /** Not with `transport`: it says where the servers are. */
  url?: never;
}

/** A client of one server over a WebSocket: in a browser, say. */
export interface UrlClientOptions extends ClientBaseOptions {
  /**
   * Connect over a WebSocket instead of TCP: a `ws:` or `wss:` URL (not
   * with `hostname`, `port`, `path`, `tls` or `endpoints`; `wss:` trusts
   * what the runtime trusts). Works wherever a standard `WebSocket` is:
   * browsers, Deno, Bun, Node 22 and later. Everything else works as over
   * TCP; the server serves it with `server.upgrade(request)` or
   * `server.accept(socket)`.
   *
   * @example
   * ```ts
   * import { action, Client, Server } from "@isock/isock";
   * import assert from "node:assert/strict";
   *
   * await using server = new Server();
   * server.addAction(action("echo", (text: string) => text));
   * await using http = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   (request, info) => server.upgrade(request, info),
   * );
   * await using client = new Client({ url: `ws://127.0.0.1:${http.addr.port}` });
   * assert.equal(await client.runAction("echo", "hi"), "hi");
   * ```
   */
  url: string | URL;
  /** What to send to the server's `authenticate` function: a token, say. */
  credentials?: unknown;
  /** Not with `url`, which says where the server is. */
  hostname?: never;
  /** Not with `url`, which says where the server is. */
  port?: never;
  /** Not with `url`, which says where the server is. */
  path?: never;
  /** Not with `url`: several servers are {@linkcode EndpointsClientOptions}. */
  endpoints?: never;
  /** Not with `url`: `balance` is for `endpoints`. */
  balance?: never;
  /** Not with `url`: `wss:` trusts what the runtime trusts. */
  tls?: never;
  /** Not with `url`: a transport is {@linkcode TransportClientOptions}. */
  transport?: never;
}

/**
 * Options of {@linkcode Client}: one of the ways to reach servers (one
 * over TCP, one on a Unix socket, one over a WebSocket, several, or a
 * transport such as NATS),
 * each with the options every client takes.
 */
export type ClientOptions =
  | TcpClientOptions
  | UnixClientOptions
  | UrlClientOptions
  | EndpointsClientOptions
  | TransportClientOptions;

/** The names of the `balance` option's policies. */
export type BalanceName = "round-robin" | "first-healthy";

/** One server of a client's `endpoints`. */
export interface ClientEndpoint {
  /**
   * The server's host name or IP address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The server's port: required, unless `path` is given. */
  port?: number;
  /** The server's Unix socket path, instead of `hostname` and `port`. */
  path?: string;
}

/** How a client trusts a TLS server, and the certificate it presents. */
export interface ClientTlsOptions {
  /** Certificate authorities to trust (PEM), instead of the usual ones. */
  caCerts?: string[];
  /**
   * Connect without checking the server's certificate at all: the
   * connection is encrypted, but anyone in the middle can pose as the
   * server. For testing against a server whose certificate you cannot get;
   * prefer `caCerts`.
   *
   * @default {false}
   */
  insecureSkipVerify?: boolean;
  /**
   * The client's certificate chain (PEM), for a server that requires
   * client certificates (its `tls.caCerts`). Give `key` with it.
   */
  cert?: string;
  /** The private key of `cert` (PEM). */
  key?: string;
}

/**
 * Checks a client's `tls` option: `cert` and `key` come together, and
 * the key is the certificate's.
 *
 * @param tls The option as given.
 * @param fail Makes the error for a bad one.
 * @throws The error `fail` makes, for `cert` without `key` (or the other
 * way round), or a pair that cannot be read or does not match.
 */
export function checkClientTls(
  tls: boolean | ClientTlsOptions | undefined,
  fail: (message: string) => Error,
): void {
  if (typeof tls !== "object" || tls === null) return;
  const { cert, key } = tls;
  if (cert === undefined && key === undefined) return;
  if (typeof cert !== "string" || typeof key !== "string") {
    throw fail(
      "Options tls.cert and tls.key come together: a client certificate and its private key (PEM).",
    );
  }
  try {
    checkCertificate(cert, key, "tls");
  } catch (error) {
    throw fail(`Option ${(error as Error).message}.`);
  }
}

/**
 * The events a {@linkcode Client} dispatches; each says in `endpoint`
 * which server it is about.
 */
export interface ClientEventMap {
  /** A connection to a server is open and ready for calls. */
  connect: ClientEvent<ConnectDetail>;
  /**
   * A connection closed; `detail` is why, when it was not a clean close.
   * With `endpoints`, `reason` says why the server left the rotation
   * (`"flapping"`, `"goodbye"` or `"dropped"`).
   */
  disconnect: ClientEvent<Error | undefined>;
  /** A connection could not be made or completed. */
  error: ClientEvent<Error>;
}

/** What a client takes besides what both ends take: its tries and its default deadline. */
export type ClientOwnOptions = Omit<ClientBaseOptions, keyof ConnectionOptions>;

/** The rows of {@linkcode ClientOwnOptions}. */
export const CLIENT_OPTIONS: Rows<ClientOwnOptions> = {
  retry: {
    default: 3,
    min: 0,
    max: 1000,
    doc: "How many times to try to connect before a call fails.",
  },
  retryDelay: {
    default: 100,
    min: 0,
    max: 60_000,
    doc: "The wait after the first failed try, in milliseconds.",
  },
  maxRetryDelay: {
    default: 2_000,
    min: 0,
    max: 600_000,
    doc: "The longest wait between tries, in milliseconds.",
  },
  timeout: {
    default: 0,
    min: 0,
    max: MAX_TIMEOUT,
    doc: "The default deadline of every call, in milliseconds; 0 for none.",
  },
};

/** The order a client's own options are checked in. */
const CLIENT_ORDER = [
  "retry",
  "retryDelay",
  "maxRetryDelay",
  "timeout",
] as const;

/** How a client reaches its servers, as read from its options. */
export type ClientReach =
  | {
    /** One server, over TCP or on a Unix socket (`path`). */
    readonly kind: "server";
    /** Where it is. */
    readonly server: EndpointAddress;
  }
  | {
    /** One server, over a WebSocket. */
    readonly kind: "url";
    /** Its `ws:` or `wss:` URL. */
    readonly url: URL;
  }
  | {
    /** Several servers. */
    readonly kind: "endpoints";
    /** Where they are, in the order given. */
    readonly servers: readonly EndpointAddress[];
    /** How calls are spread over them. */
    readonly balance: BalanceName;
  }
  | {
    /** A transport (a bus). */
    readonly kind: "transport";
    /** What builds the client's link. */
    readonly link: LinkFactory;
  };

/** What a client runs with: its options read and checked once, frozen. */
export interface ClientConfig extends Readonly<Required<ClientOwnOptions>> {
  /** How it reaches its servers. */
  readonly reach: ClientReach;
  /** What every connection runs with. */
  readonly connection: ConnectionConfig;
  /** TLS, for every server. */
  readonly tls: boolean | ClientTlsOptions | undefined;
  /** What the server's `authenticate` gets. */
  readonly credentials: unknown;
}

/**
 * Reads and checks a client's options, in the order a client always
 * checked them (how it reaches its servers, then `port`, the tries, the
 * deadline, the limits, `secret`, `reflection`, `extensions`), so a bad
 * set of options fails with the same first error. The checks run for
 * JavaScript callers too, whom the types do not stop.
 *
 * @param options The client's options, as given.
 * @returns What the client runs with.
 * @throws {ClientError} `INVALID_OPTIONS` for a bad option.
 * @throws {CodecError} `INVALID_EXTENSION` for a bad extension.
 *
 * @example
 * ```ts
 * import { resolveClientConfig } from "./client_options.ts";
 * import assert from "node:assert/strict";
 *
 * const config = resolveClientConfig({ port: 4440 });
 * assert.equal(config.reach.kind, "server");
 * assert.equal(config.retry, 3);
 * assert.equal(config.connection.maxFrameSize, 64 * 1024 * 1024);
 * assert.throws(() => resolveClientConfig({ port: -1 }), { code: "INVALID_OPTIONS" });
 * ```
 */
export function resolveClientConfig(options: ClientOptions): ClientConfig {
  const given = (options ?? {}) as ClientOptionsGiven;
  const reach = readReach(given);
  const own = parseOptions(CLIENT_OPTIONS, given, invalidOption, CLIENT_ORDER);
  const connection = readConnectionConfig(given, invalidOption);
  return Object.freeze({
    ...own as Required<ClientOwnOptions>,
    reach,
    connection,
    tls: given.tls,
    credentials: given.credentials,
  });
}

/** Every member of the union at once, as a JavaScript caller may mix them. */
interface ClientOptionsGiven extends ConnectionOptions, ClientOwnOptions {
  readonly hostname?: unknown;
  readonly port?: unknown;
  readonly path?: unknown;
  readonly endpoints?: readonly ClientEndpoint[];
  readonly balance?: BalanceName;
  readonly tls?: boolean | ClientTlsOptions;
  readonly credentials?: unknown;
  readonly transport?: unknown;
  readonly url?: unknown;
}

/** How the client reaches its servers: checked first, as always. */
function readReach(options: ClientOptionsGiven): ClientReach {
  if (options.transport !== undefined) {
    const link = asLinkFactory(options.transport);
    if (link === undefined) {
      throw invalidOption(
        "Option transport takes what natsTransport() (from @isock/isock/nats) returns.",
      );
    }
    for (const name of TCP_ONLY) {
      if (options[name] !== undefined) {
        throw invalidOption(
          `Option ${name} is for TCP; a client with a transport takes neither ${
            TCP_ONLY.join(", ")
          }.`,
        );
      }
    }
    return { kind: "transport", link };
  }
  const url = readUrl(options, invalidOption);
  if (url !== undefined) return { kind: "url", url };
  const several = readEndpoints(options, invalidOption);
  const path = readPath(options, invalidOption);
  checkClientTls(options.tls, invalidOption);
  if (several !== undefined) {
    return {
      kind: "endpoints",
      servers: several.endpoints,
      balance: several.balance,
    };
  }
  if (path !== undefined) {
    return { kind: "server", server: { hostname: path, port: 0, path } };
  }
  const port = checkIntegerOption(
    "port",
    options.port as number,
    CLIENT_PORT.min,
    CLIENT_PORT.max,
    invalidOption,
  );
  const hostname = (options.hostname ?? "127.0.0.1") as string;
  return { kind: "server", server: { hostname, port, path: undefined } };
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

/** Options that say where a TCP server is: a client with a `url` takes none. */
const NOT_WITH_URL = ["hostname", "port", "path", "tls", "endpoints"] as const;

/**
 * Reads the `url` option.
 *
 * @param options The client's options.
 * @param fail Makes the error of a bad option.
 * @returns The URL, or `undefined` when the option is not given.
 * @throws The error `fail` makes, for a URL that is not `ws:` or `wss:`,
 * or one given with a TCP option.
 */
function readUrl(
  options: ClientOptionsGiven,
  fail: OptionError,
): URL | undefined {
  const { url } = options;
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = typeof url === "string" || url instanceof URL
      ? new URL(url)
      : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== "ws:" && parsed.protocol !== "wss:")
  ) {
    throw fail(
      `Option url must be a ws: or wss: URL, such as "ws://127.0.0.1:8080/isock"; got ${
        typeof url === "string" ? JSON.stringify(url) : typeof url
      }.`,
    );
  }
  for (const name of NOT_WITH_URL) {
    if (options[name] !== undefined) {
      throw fail(
        `Options url and ${name} exclude each other: url is a WebSocket server, ${name} is for TCP.`,
      );
    }
  }
  return parsed;
}

/**
 * Makes the error a bad client option throws.
 *
 * @param message What is wrong.
 * @returns A `ClientError` `INVALID_OPTIONS`.
 */
export function invalidOption(message: string): ClientError {
  return new ClientError("INVALID_OPTIONS", message);
}

/** One server of the list, read: a TCP address, or a socket path. */
export interface EndpointAddress {
  /** The host name (the path, for a Unix socket). */
  readonly hostname: string;
  /** The port (0 for a Unix socket). */
  readonly port: number;
  /** The Unix socket path, if it is one. */
  readonly path: string | undefined;
}

/** The options that say where one server is: they exclude `endpoints`. */
const SINGLE_SERVER = ["hostname", "port", "path", "transport"] as const;

/** What is read from a client's options about several servers. */
export interface EndpointsRead {
  /** The servers, in the order given. */
  readonly endpoints: readonly EndpointAddress[];
  /** How calls are spread over them. */
  readonly balance: BalanceName;
}

/**
 * Reads `endpoints` and `balance`.
 *
 * @param options The client's options as given.
 * @param fail Makes the error for a bad option.
 * @returns The servers and the policy; `undefined` without `endpoints`.
 * @throws The error `fail` makes: an empty or malformed list, a bad entry,
 * `endpoints` with `hostname`, `port`, `path` or `transport`, or a
 * `balance` that is not a policy's name (or without `endpoints`).
 *
 * @example
 * ```ts
 *
 * import assert from "node:assert/strict";
 *
 * const fail = (message: string) => new RangeError(message);
 * const read = readEndpoints({ endpoints: [{ port: 4000 }, { path: "/tmp/b.sock" }] }, fail);
 * assert.deepStrictEqual(read?.endpoints.map((e) => e.hostname), ["127.0.0.1", "/tmp/b.sock"]);
 * assert.equal(read?.balance, "round-robin");
 * assert.throws(() => readEndpoints({ endpoints: [] }, fail), RangeError);
 * assert.throws(() => readEndpoints({ endpoints: [{ port: 1 }], port: 2 }, fail), RangeError);
 * ```
 */
export function readEndpoints(
  options: {
    readonly endpoints?: readonly ClientEndpoint[];
    readonly balance?: BalanceName;
    readonly hostname?: unknown;
    readonly port?: unknown;
    readonly path?: unknown;
  },
  fail: OptionError,
): EndpointsRead | undefined {
  const { endpoints, balance } = options;
  if (endpoints === undefined) {
    if (balance !== undefined) {
      throw fail(
        "Option balance spreads calls over several servers: give them as endpoints.",
      );
    }
    return undefined;
  }
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw fail(
      "Option endpoints must be a non-empty array of servers ({ hostname, port } or { path }).",
    );
  }
  for (const name of SINGLE_SERVER) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw fail(
        `Options endpoints and ${name} exclude each other: give each server's address in endpoints.`,
      );
    }
  }
  if (
    balance !== undefined && balance !== "round-robin" &&
    balance !== "first-healthy"
  ) {
    throw fail(
      `Option balance must be "round-robin" or "first-healthy"; got ${
        typeof balance === "string" ? `"${balance}"` : typeof balance
      }.`,
    );
  }
  return {
    endpoints: endpoints.map((endpoint, index) =>
      readEndpoint(endpoint, index, fail)
    ),
    balance: balance ?? "round-robin",
  };
}

function readEndpoint(
  endpoint: ClientEndpoint,
  index: number,
  fail: OptionError,
): EndpointAddress {
  const prefix = `Option endpoints[${index}]`;
  if (typeof endpoint !== "object" || endpoint === null) {
    throw fail(`${prefix} must be { hostname, port } or { path }.`);
  }
  const inEntry = (message: string) => fail(`${prefix}: ${message}`);
  const path = readPath(endpoint, inEntry);
  if (path !== undefined) return { hostname: path, port: 0, path };
  const { hostname = "127.0.0.1" } = endpoint;
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw inEntry("hostname must be a non-empty string.");
  }
  if (endpoint.port === undefined) {
    throw inEntry("port is required (or path, for a Unix socket).");
  }
  const port = checkIntegerOption(
    "port",
    endpoint.port,
    CLIENT_PORT.min,
    CLIENT_PORT.max,
    inEntry,
  );
  return { hostname, port, path: undefined };
}
