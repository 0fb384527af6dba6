/**
 * The object `natsTransport()` returns: a service on a NATS connection,
 * which a server serves with (`server.listen(bus)`) and a client calls
 * through (`new Client({ transport: bus })`).
 *
 * @module
 */

import { ServerError } from "../base/errors.ts";
import { ignore } from "../base/timers.ts";
import type { ClientLink } from "../endpoint/client_link.ts";
import type { LinkFactory, LinkSetup } from "../endpoint/client_transport.ts";
import type {
  ServedEndpoint,
  ServingFactory,
  ServingTransport,
} from "../endpoint/server_transport.ts";
import type { PeerAddress } from "../wire/transport.ts";
import type { BusConnection } from "./bus.ts";
import { BusLink } from "./bus_link.ts";
import { BusService } from "./bus_service.ts";

/** A service's settings on the bus, read from `natsTransport`'s options. */
export interface BusSettings {
  /** The service name. */
  readonly service: string;
  /** The queue group its instances share. */
  readonly queue: string;
  /** The subjects' prefix. */
  readonly prefix: string;
  /** Milliseconds between liveness messages. */
  readonly heartbeat: number;
  /** The service's version, for discovery. */
  readonly version: string;
  /** A line about the service, for discovery. */
  readonly description: string;
  /** Strings about the service, for discovery. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A service on a NATS connection, for servers and clients alike. */
export class NatsBus implements ServingFactory, LinkFactory {
  /** A NATS bus. */
  readonly transportKind = "nats";
  /** The service's settings. */
  readonly settings: BusSettings;
  /** The connection, once open (rejects when it cannot be opened). */
  readonly connection: Promise<BusConnection>;
  readonly #closeConnection: () => Promise<void>;
  readonly #serving = new Set<BusService>();

  /**
   * @param connection The connection, opening.
   * @param settings The service's settings.
   * @param closeConnection Closes the connection, if this bus opened it.
   */
  constructor(
    connection: Promise<BusConnection>,
    settings: BusSettings,
    closeConnection: () => Promise<void>,
  ) {
    this.connection = connection;
    // Whoever uses the bus sees the failure; an unused bus must not crash.
    connection.catch(ignore);
    this.settings = settings;
    this.#closeConnection = closeConnection;
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
    return new BusLink(
      { connection: this.connection, prefix, service, heartbeat },
      setup,
    );
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
    const service = new BusService({ bus, ...this.settings }, served);
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
