/**
 * The NATS micro discovery protocol (ADR-32), answered for an isock server
 * on a bus: `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`, each also as
 * `$SRV.<verb>.<service>` and `$SRV.<verb>.<service>.<id>`, answered with
 * the JSON documents `io.nats.micro.v1.ping_response`, `info_response` and
 * `stats_response`. Standard NATS tooling (`nats micro ls`, nats.js's
 * `Svcm`) lists isock servers through it; `listInstances`
 * (client_discovery.ts) reads it back. PROTOCOL.md, "Over NATS — discovery",
 * is the contract.
 *
 * This module holds the subjects and the subscriptions; the documents and
 * how they are made are micro_responses.ts's. It sees the bus only through
 * {@linkcode DiscoveryBus}, and the server only through
 * {@linkcode DiscoverableService}: nats.ts adapts a real NATS connection,
 * the server side hands in its actions and stats.
 * {@linkcode describeInstance} tells an instance's endpoints: one per
 * action, with its JSON Schemas from reflection.
 *
 * @module
 */

import {
  type DiscoverableService,
  type DiscoveryVerb,
  endpointMetadata,
  infoResponse,
  pingResponse,
  statsResponse,
} from "./micro_responses.ts";
import type { ServerStats } from "../dispatch/action_stats.ts";
import type { ActionRegistry } from "../dispatch/registry.ts";
import { describeOne } from "../dispatch/reflection.ts";
import { actionSubject } from "./bus.ts";

/** A message as the bus delivers it to a subscription. */
export interface DiscoveryMessage {
  /** The subject it was published to. */
  readonly subject: string;
  /** Where its sender waits for answers; absent for a plain publish. */
  readonly reply: string | undefined;
  /** Its body. */
  readonly data: Uint8Array;
  /**
   * The status of a message the NATS server made itself (503: no one
   * listens on the subject a request went to); absent on others.
   */
  readonly status?: number | undefined;
}

/** A subscription, until it is ended. */
export interface DiscoverySubscription {
  /** Ends it; no message reaches its callback afterwards. */
  unsubscribe(): void;
}

/**
 * What discovery needs of a NATS connection: plain subscriptions (no queue
 * group: every instance answers discovery), publishing with a reply
 * subject, and fresh inbox subjects to gather replies on. A subset of the
 * bus the rest of `src/nats/` uses, so the same adapter (nats.ts) serves.
 */
export interface DiscoveryBus {
  /**
   * Subscribes to a subject (which may hold wildcards).
   *
   * @param subject The subject.
   * @param options `callback` is called for each message; it must not throw.
   */
  subscribe(
    subject: string,
    options: { readonly callback: (message: DiscoveryMessage) => void },
  ): DiscoverySubscription;
  /**
   * Publishes a message. When nobody subscribes to `subject` and `reply`
   * is given, NATS answers on `reply` with a status message (503, no
   * responders, with an empty body).
   *
   * @param subject Where to.
   * @param data The body.
   * @param reply Where answers go, if any are wanted.
   */
  publish(subject: string, data: Uint8Array, reply?: string): void;
  /** A new subject no one else listens on, for replies. */
  newInbox(): string;
}

/** Where discovery requests go: `$SRV.<verb>[.<service>[.<id>]]`. */
export const DISCOVERY_PREFIX = "$SRV";

/** Answering discovery, until stopped. */
export interface DiscoveryAnswerer {
  /** Stops answering: unsubscribes. Safe to call more than once. */
  stop(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * A subject token, as micro names and ids must be: no dots, wildcards or
 * white space, not empty.
 *
 * @param value The token.
 * @returns Whether it is one.
 */
export function isSubjectToken(value: string): boolean {
  return /^[^.*>\s]+$/.test(value);
}

/**
 * The subject of a discovery request.
 *
 * @example
 * ```ts
 * import { discoverySubject } from "./service_discovery.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(discoverySubject("PING"), "$SRV.PING");
 * assert.equal(discoverySubject("INFO", "lab"), "$SRV.INFO.lab");
 * assert.equal(discoverySubject("STATS", "lab", "x1"), "$SRV.STATS.lab.x1");
 * ```
 *
 * @param verb The request.
 * @param service Only the instances of this service answer.
 * @param id Only the instance with this id answers (needs `service`).
 * @returns The subject.
 */
export function discoverySubject(
  verb: DiscoveryVerb,
  service?: string,
  id?: string,
): string {
  const base = `${DISCOVERY_PREFIX}.${verb}`;
  if (service === undefined) return base;
  return id === undefined ? `${base}.${service}` : `${base}.${service}.${id}`;
}

/**
 * Answers the micro discovery requests for one server instance on a bus:
 * `$SRV.PING|INFO|STATS`, each also with the service's name and with its
 * name and id. Three wildcard subscriptions (`$SRV.*`, `$SRV.*.<name>`,
 * `$SRV.*.<name>.<id>`), none in a queue group, so every instance answers.
 *
 * @example
 * ```ts ignore
 * const answering = answerDiscovery(bus, {
 *   name: "lab", id: "a1", version: "1.0.0", description: "", metadata: {},
 *   endpoints: () => [],
 *   stats: () => server.stats(),
 * });
 * // … at shutdown:
 * await answering.stop();
 * ```
 *
 * @param bus The bus.
 * @param service The instance.
 * @returns What stops answering.
 * @throws {TypeError} When the name or id is not a subject token.
 */
export function answerDiscovery(
  bus: DiscoveryBus,
  service: DiscoverableService,
): DiscoveryAnswerer {
  for (const [what, value] of [["name", service.name], ["id", service.id]]) {
    if (!isSubjectToken(value)) {
      throw new TypeError(
        `A service's ${what} must be one subject token (no dots, wildcards or spaces); got ${
          JSON.stringify(value)
        }.`,
      );
    }
  }
  // A ping's answer never changes: encoded once.
  const ping = encoder.encode(JSON.stringify(pingResponse(service)));
  const answerBody = (verb: string): Uint8Array | undefined => {
    switch (verb) {
      case "PING":
        return ping;
      case "INFO":
        return encoder.encode(JSON.stringify(infoResponse(service)));
      case "STATS":
        return encoder.encode(JSON.stringify(statsResponse(service)));
      default:
        // Another verb of a later protocol version: not ours to answer.
        return undefined;
    }
  };
  const answer = (message: DiscoveryMessage) => {
    if (message.reply === undefined) return;
    // `$SRV.<verb>…`: the verb is the second token.
    const verb = message.subject.slice(DISCOVERY_PREFIX.length + 1).split(
      ".",
      1,
    )[0];
    let body: Uint8Array | undefined;
    try {
      body = answerBody(verb);
    } catch {
      // The server could not say (it is closing): no answer, as if it
      // were gone; a caller gathering answers just does not count it.
      return;
    }
    if (body === undefined) return;
    try {
      bus.publish(message.reply, body);
    } catch {
      // The connection is closing; the asker does without this answer.
    }
  };
  const subscriptions = [
    `${DISCOVERY_PREFIX}.*`,
    `${DISCOVERY_PREFIX}.*.${service.name}`,
    `${DISCOVERY_PREFIX}.*.${service.name}.${service.id}`,
  ].map((subject) => bus.subscribe(subject, { callback: answer }));
  return {
    stop() {
      for (const subscription of subscriptions.splice(0)) {
        try {
          subscription.unsubscribe();
        } catch {
          // A closed connection has no subscriptions left to end.
        }
      }
      return Promise.resolve();
    },
  };
}

/** Who an instance is and where it serves, for {@linkcode describeInstance}. */
export interface InstanceIdentity
  extends
    Pick<DiscoverableService, "id" | "version" | "description" | "metadata"> {
  /** The subjects' prefix. */
  readonly prefix: string;
  /** The service name. */
  readonly service: string;
  /** The queue group. */
  readonly queue: string;
}

/**
 * What discovery tells of an instance, read afresh at each question.
 *
 * @param identity Who it is and where it serves.
 * @param actions The server's actions.
 * @param stats The server's stats now.
 * @returns Its name, id, endpoints and stats.
 */
export function describeInstance(
  identity: InstanceIdentity,
  actions: ActionRegistry,
  stats: () => ServerStats,
): DiscoverableService {
  const { prefix, service, queue, id, version, description, metadata } =
    identity;
  return {
    name: service,
    id,
    version,
    description,
    metadata,
    endpoints: () =>
      actions.names.map((name) => {
        const action = actions.find(name);
        return {
          name,
          subject: actionSubject(prefix, service, name),
          queue_group: queue,
          metadata: action === undefined
            ? {}
            : endpointMetadata(describeOne(action)),
        };
      }),
    stats,
  };
}
