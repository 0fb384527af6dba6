/**
 * The object `natsTransport()` returns: a service on a NATS connection,
 * which a server serves with (`server.listen(bus)`) and a client calls
 * through (`new Client({ transport: bus })`).
 *
 * The `CONNECT_FAILED` error for a NATS connection that could not be
 * opened, with a hint that fits the cause: a refused or unreachable
 * address asks whether a nats-server runs there; a refusal of the
 * credentials says to check them (a running server would otherwise be
 * suspected of not running).
 *
 * @module
 */

import { ClientError, ServerError } from "../base/errors.ts";
import type {
  ClientLink,
  LinkFactory,
  LinkSetup,
} from "../endpoint/client_transport.ts";
import type {
  ServedEndpoint,
  ServingFactory,
  ServingTransport,
} from "../endpoint/server_transport.ts";
import type { PeerAddress } from "../wire/transport.ts";
import type { BusConnection } from "./bus.ts";
import { NatsLink } from "./client_link.ts";
import { type BusSettings, NatsService } from "./service.ts";

/** A service on a NATS connection, for servers and clients alike. */
export class NatsBus implements ServingFactory, LinkFactory {
  /** A NATS bus. */
  readonly transportKind = "nats";
  /** The service's settings. */
  readonly settings: BusSettings;
  readonly #open: () => Promise<BusConnection>;
  #connection: Promise<BusConnection>;
  #hasFailed = false;
  #isClosed = false;
  readonly #closeConnection: () => Promise<void>;
  readonly #serving = new Set<NatsService>();

  /**
   * @param open Opens the connection (a first try starts at once).
   * @param settings The service's settings.
   * @param closeConnection Closes the connection, if this bus opened it.
   */
  constructor(
    open: () => Promise<BusConnection>,
    settings: BusSettings,
    closeConnection: () => Promise<void>,
  ) {
    this.#open = open;
    this.#connection = this.#opening();
    this.settings = settings;
    this.#closeConnection = closeConnection;
  }

  /**
   * The connection, once open (rejects when it cannot be opened). After a
   * failed try the next use tries again, like a TCP client's next call: a
   * client started before its nats-server is not stuck with the failure.
   */
  get connection(): Promise<BusConnection> {
    if (this.#hasFailed && !this.#isClosed) {
      this.#hasFailed = false;
      this.#connection = this.#opening();
    }
    return this.#connection;
  }

  #opening(): Promise<BusConnection> {
    const opening = this.#open();
    // Whoever uses the bus sees the failure; an unused bus must not crash.
    opening.catch(() => {
      this.#hasFailed = true;
    });
    return opening;
  }

  /** The service name. */
  get service(): string {
    return this.settings.service;
  }

  /** The queue group. */
  get queue(): string {
    return this.settings.queue;
  }

  /** The subjects' prefix. */
  get prefix(): string {
    return this.settings.prefix;
  }

  /** Where a client's calls go, as its middleware sees it. */
  get address(): PeerAddress {
    return { hostname: this.settings.service, port: 0, transport: "tcp" };
  }

  /** {@inheritDoc LinkFactory.openLink} */
  openLink(setup: LinkSetup): ClientLink {
    const { prefix, service, heartbeat } = this.settings;
    // A getter: each time the link connects it takes the bus's latest try.
    const latest = () => this.connection;
    return new NatsLink({
      get connection() {
        return latest();
      },
      prefix,
      service,
      heartbeat,
    }, setup);
  }

  /** {@inheritDoc ServingFactory.serve} */
  async serve(served: ServedEndpoint): Promise<ServingTransport> {
    let bus: BusConnection;
    try {
      bus = await this.connection;
    } catch (error) {
      throw new ServerError(
        "LISTEN_FAILED",
        `Cannot serve "${this.settings.service}" over NATS: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    const service = new NatsService({ bus, ...this.settings }, served);
    await service.start();
    this.#serving.add(service);
    return {
      close: (timeout) =>
        service.close(timeout).finally(() => this.#serving.delete(service)),
    };
  }

  /**
   * Closes the NATS connection if this bus opened it; instances still
   * serving stop first (running calls get a second to finish).
   *
   * @returns Resolves once closed.
   */
  async close(): Promise<void> {
    this.#isClosed = true;
    await Promise.all(
      [...this.#serving].map((service) => service.close(1_000)),
    );
    await this.#closeConnection();
  }

  /** Closes the bus; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** How the NATS client names a refusal of the credentials. */
const AUTH_REFUSED =
  /authori[sz]ation|authentication|user authentication expired/i;

/**
 * The error a bus gives when its connection cannot be opened.
 *
 * @example
 * ```ts
 * import { connectFailure } from "./nats_transport.ts";
 * import assert from "node:assert/strict";
 *
 * const error = connectFailure(
 *   ["127.0.0.1:4222"],
 *   Object.assign(new Error("Authorization Violation"), {
 *     name: "AuthorizationError",
 *   }),
 * );
 * assert.equal(error.code, "CONNECT_FAILED");
 * assert.match(error.message, /credentials/);
 * ```
 *
 * @param servers Where the bus tried to connect.
 * @param cause What the NATS client threw.
 * @returns A `ClientError` `CONNECT_FAILED` with the cause attached.
 */
export function connectFailure(
  servers: readonly string[],
  cause: unknown,
): ClientError {
  const { name = "", message = String(cause) } = cause instanceof Error
    ? cause
    : {};
  const hint = name === "AuthorizationError" ||
      name === "UserAuthenticationExpiredError" || AUTH_REFUSED.test(message)
    ? "The NATS server refused the credentials: check user/pass, token or authenticator."
    : "Is a nats-server running there?";
  return new ClientError(
    "CONNECT_FAILED",
    `Cannot connect to NATS at ${servers.join(", ")}: ${message}. ${hint}`,
    { cause },
  );
}
