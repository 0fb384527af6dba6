/**
 * What NATS micro discovery tells of a service instance: its endpoints (one
 * per action: subject, queue group, and metadata with the action's JSON
 * Schemas from reflection) and its stats; and the bus as discovery sees it
 * (src/nats/discovery.ts answers the questions).
 *
 * @module
 */

import { endpointMetadata } from "./micro_responses.ts";
import type { ServerStats } from "../dispatch/action_stats.ts";
import type { ActionRegistry } from "../dispatch/registry.ts";
import { describeOne } from "../dispatch/reflection.ts";
import type { BusConnection } from "./bus.ts";
import { answerDiscovery } from "./discovery.ts";
import { actionSubject } from "./subjects.ts";

/** One endpoint of the service, as NATS micro discovery lists it. */
export interface ServiceEndpoint {
  /** The action's name. */
  readonly name: string;
  /** The subject its calls are published to. */
  readonly subject: string;
  /** The queue group its instances share. */
  readonly queue_group: string;
  /** Whether it is idempotent, whether it streams, and its JSON Schemas. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What discovery answers for an instance (src/nats/discovery.ts takes it). */
export interface DiscoveredInstance {
  /** The service name. */
  readonly name: string;
  /** The instance id. */
  readonly id: string;
  /** The service's version. */
  readonly version: string;
  /** A line about the service. */
  readonly description: string;
  /** Strings about the service. */
  readonly metadata: Readonly<Record<string, string>>;
  /** One endpoint per action, read at each question. */
  endpoints(): readonly ServiceEndpoint[];
  /** The server's stats now. */
  stats(): ServerStats;
}

/** Who an instance is and where it serves, for {@linkcode describeInstance}. */
export interface InstanceIdentity {
  /** The subjects' prefix. */
  readonly prefix: string;
  /** The service name. */
  readonly service: string;
  /** The queue group. */
  readonly queue: string;
  /** The instance id. */
  readonly id: string;
  /** The service's version. */
  readonly version: string;
  /** A line about the service. */
  readonly description: string;
  /** Strings about the service. */
  readonly metadata: Readonly<Record<string, string>>;
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
): DiscoveredInstance {
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

/**
 * Answers NATS micro discovery for an instance: the bus connection is
 * discovery's bus as it is (src/nats/discovery.ts declares a subset of it).
 */
export function startDiscovery(
  bus: BusConnection,
  instance: DiscoveredInstance,
): { stop(): Promise<void> } {
  return answerDiscovery(bus, instance);
}
