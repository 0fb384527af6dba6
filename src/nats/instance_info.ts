/**
 * What NATS micro discovery tells of a service instance: its endpoints (one
 * per action: subject, queue group, and metadata with the action's JSON
 * Schemas from reflection) and its stats; and the bus as discovery sees it
 * (src/nats/discovery.ts answers the questions).
 *
 * @module
 */

import type { ServerStats } from "../dispatch/action_stats.ts";
import type { ActionDescription } from "../dispatch/description.ts";
import type { ActionRegistry } from "../dispatch/registry.ts";
import { describeOne } from "../dispatch/reflection.ts";
import type { BusConnection, BusMessage } from "./bus.ts";
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
 * An endpoint's metadata in discovery: whether the action is idempotent,
 * whether it streams, and its JSON Schemas when it has them.
 */
function endpointMetadata(
  description: ActionDescription,
): Record<string, string> {
  const metadata: Record<string, string> = {
    idempotent: String(description.idempotent),
    streams: String(description.streams),
  };
  if (description.input !== undefined) {
    metadata.input_schema = JSON.stringify(description.input);
  }
  if (description.output !== undefined) {
    metadata.output_schema = JSON.stringify(description.output);
  }
  return metadata;
}

/**
 * Answers NATS micro discovery for an instance. Until src/nats/discovery.ts
 * lands it answers nothing; then: `answerDiscovery(discoveryBus(bus), instance)`.
 */
export function startDiscovery(
  bus: BusConnection,
  instance: DiscoveredInstance,
): { stop(): Promise<void> } {
  void discoveryBus(bus);
  void instance;
  return { stop: () => Promise.resolve() };
}

/** The bus as discovery sees it: plain subscriptions, publish, inboxes. */
function discoveryBus(bus: BusConnection): {
  subscribe(
    subject: string,
    onMessage: (message: BusMessage) => void,
  ): { unsubscribe(): void };
  publish(subject: string, data: Uint8Array, reply?: string): void;
  inbox(): string;
} {
  return {
    subscribe: (subject, onMessage) =>
      bus.subscribe(subject, { callback: onMessage }),
    publish: (subject, data, reply) => bus.publish(subject, data, reply),
    inbox: () => bus.newInbox(),
  };
}
