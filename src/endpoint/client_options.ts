/**
 * A client's options: their types, documented for users, and how they are
 * read (defaults and bounds) into what the client runs with.
 *
 * @module
 */

import type { Extension } from "../codec/extension.ts";
import { MAX_TIMEOUT } from "../base/timers.ts";
import { checkCertificate } from "../wire/tls_sockets.ts";
import { CLIENT_PORT, type IntegerRule } from "./connection_options.ts";
import type { BalanceName } from "./balance.ts";
import type { ClientEvent, ConnectDetail } from "./client_event.ts";
import type { ClientTransport } from "./client_transport.ts";

/** Options of {@linkcode Client}. */
export interface ClientOptions {
  /**
   * The server's host name or IP address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The server's port: required, unless `path` or `endpoints` is given. */
  port?: number;
  /**
   * Connect to the Unix socket at this path instead of TCP (not with
   * `hostname` or `port`). Deno needs `--allow-read --allow-write` for the
   * path, besides `--allow-net`.
   */
  path?: string;
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
  url?: string | URL;
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
  endpoints?: readonly ClientEndpoint[];
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
  /**
   * Milliseconds between heartbeat pings. A server silent for three
   * intervals (a machine that vanished without closing the connection) is
   * taken for dead: calls in flight reject with `CONNECTION_CLOSED`, and the
   * next call reconnects. 0 turns heartbeats off. With `endpoints`, three
   * intervals are also how long a server back after a drop stays on
   * probation (30 s when heartbeats are off).
   *
   * @default {10000}
   */
  heartbeatInterval?: number;
  /**
   * Classes that travel as themselves; the server must register the same.
   *
   * @default {[]}
   */
  extensions?: readonly Extension[];
  /**
   * The largest answer accepted, in bytes. The server learns it in the
   * hello and answers larger results with a `FRAME_TOO_LARGE` error.
   *
   * @default {67108864}
   */
  maxFrameSize?: number;
  /**
   * How long each connection attempt may take, in milliseconds: the TCP
   * connect and the TLS handshake together, and then the server's answer
   * to the hello (and authentication). A server that accepts and says
   * nothing costs an attempt this long, never a hang.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * Connect over TLS: `true` trusts the usual certificate authorities;
   * `caCerts` trusts yours instead (PEM), as for a self-signed server
   * certificate. A certificate the client does not accept fails the call at
   * once with `TLS_FAILED`. `cert` and `key` present a client certificate
   * to a server that requires one (mutual TLS).
   */
  tls?: boolean | ClientTlsOptions;
  /**
   * The secret shared with the server, proved by challenge and response
   * (never sent). The server must prove it knows it too, or calls fail with
   * `UNAUTHORIZED`.
   */
  secret?: string | Uint8Array;
  /** What to send to the server's `authenticate` function: a token, say. */
  credentials?: unknown;
  /**
   * Reach the servers through this instead of a TCP connection: the bus
   * `natsTransport()` from `@isock/isock/nats` returns. Takes no
   * `hostname`, `port`, `path`, `tls` or `secret`.
   */
  transport?: ClientTransport;
  /**
   * How many of the server's calls to this client's actions (two-way
   * calls) may run at once; more are answered `OVERLOADED` without running,
   * as a server does with `maxInFlight`.
   *
   * @default {1000}
   */
  maxInFlight?: number;
  /**
   * Whether this client answers its server's describe request
   * (`peer.describe()`) with the actions it offers, as a server does.
   *
   * @default {true}
   */
  reflection?: boolean;
}

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

/** The client's own options: where, how often to try, and the default deadline. */
export const CLIENT_OPTIONS: {
  readonly [K in "port" | "retry" | "retryDelay" | "maxRetryDelay" | "timeout"]:
    IntegerRule;
} = {
  port: CLIENT_PORT,
  retry: { default: 3, min: 0, max: 1000 },
  retryDelay: { default: 100, min: 0, max: 60_000 },
  maxRetryDelay: { default: 2_000, min: 0, max: 600_000 },
  timeout: { default: 0, min: 0, max: MAX_TIMEOUT },
};
