/**
 * The NATS micro discovery protocol (ADR-32), answered for an isock server
 * on a bus: `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`, each also as
 * `$SRV.<verb>.<service>` and `$SRV.<verb>.<service>.<id>`, answered with
 * the JSON documents `io.nats.micro.v1.ping_response`, `info_response` and
 * `stats_response`. Standard NATS tooling (`nats micro ls`, nats.js's
 * `Svcm`) lists isock servers through it; `listInstances`
 * (list_instances.ts) reads it back. PROTOCOL.md, "Over NATS — discovery",
 * is the contract.
 *
 * This module sees the bus only through {@linkcode DiscoveryBus}, and the
 * server only through {@linkcode DiscoverableService}: nats.ts adapts a
 * real NATS connection, the server side hands in its actions and stats.
 *
 * @module
 */

import type { ActionStats, ServerStats } from "../dispatch/action_stats.ts";
import type { ActionDescription } from "../dispatch/description.ts";

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

/** The three requests of the micro protocol. */
export type DiscoveryVerb = "PING" | "INFO" | "STATS";

/** The `type` of each answer, by request. */
export const RESPONSE_TYPES: Readonly<Record<DiscoveryVerb, string>> = {
  PING: "io.nats.micro.v1.ping_response",
  INFO: "io.nats.micro.v1.info_response",
  STATS: "io.nats.micro.v1.stats_response",
};

/**
 * The endpoint metadata keys isock fills from an action's description: its
 * input and output schemas as JSON Schema documents written as JSON text
 * (micro metadata values are strings), and its flags as `"true"` or
 * `"false"`.
 */
export const ENDPOINT_METADATA = {
  input: "input_schema",
  output: "output_schema",
  idempotent: "idempotent",
  streams: "streams",
} as const;

/** One endpoint as `$SRV.INFO` tells it: an action of the server. */
export interface MicroEndpointInfo {
  /** The action's name. */
  readonly name: string;
  /** The subject its requests go to. */
  readonly subject: string;
  /** The queue group the instances of the service share on that subject. */
  readonly queue_group?: string;
  /** Strings about it; isock's keys are {@linkcode ENDPOINT_METADATA}. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** One endpoint as `$SRV.STATS` tells it; times in nanoseconds. */
export interface MicroEndpointStats {
  /** The action's name. */
  readonly name: string;
  /** The subject its requests go to. */
  readonly subject: string;
  /** The queue group the instances of the service share on that subject. */
  readonly queue_group?: string;
  /** Requests answered. */
  readonly num_requests: number;
  /** Requests answered with an error (included in `num_requests`). */
  readonly num_errors: number;
  /** `"<code>: <message>"` of the last error; `""` before the first. */
  readonly last_error: string;
  /** Nanoseconds spent on the answered requests, in total. */
  readonly processing_time: number;
  /** `processing_time / num_requests`, in nanoseconds. */
  readonly average_processing_time: number;
  /** isock's figures the micro fields have no place for. */
  readonly data?: IsockEndpointData;
}

/** What isock adds to an endpoint's stats, in its `data` field. */
export interface IsockEndpointData {
  /** Calls running now. */
  readonly running: number;
  /** The last error in full, when there was one. */
  readonly last_error?: {
    readonly code: string;
    readonly message: string;
    /** When, in RFC 3339. */
    readonly time: string;
  };
}

/** What every answer starts with. */
export interface MicroIdentity {
  /** Which answer it is: one of {@linkcode RESPONSE_TYPES}. */
  readonly type: string;
  /** The service's name. */
  readonly name: string;
  /** The instance's id. */
  readonly id: string;
  /** The service's version. */
  readonly version: string;
  /** Strings about the service. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** The answer to `$SRV.INFO`. */
export interface MicroInfoResponse extends MicroIdentity {
  /** A line about the service. */
  readonly description: string;
  /** One per action offered now. */
  readonly endpoints: readonly MicroEndpointInfo[];
}

/** The answer to `$SRV.STATS`. */
export interface MicroStatsResponse extends MicroIdentity {
  /** Since when the numbers count, in RFC 3339. */
  readonly started: string;
  /** One per endpoint of the INFO answer. */
  readonly endpoints: readonly MicroEndpointStats[];
}

/** What discovery needs of the server instance it answers for. */
export interface DiscoverableService {
  /** The service's name, shared by its instances (a subject token). */
  readonly name: string;
  /** This instance's id, unique among them (a subject token). */
  readonly id: string;
  /** The service's version (semantic versioning, as micro asks). */
  readonly version: string;
  /** A line about the service. */
  readonly description: string;
  /** Strings about the service. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The actions offered now, one endpoint each; read at every INFO and STATS. */
  endpoints(): readonly MicroEndpointInfo[];
  /** The server's stats now (`server.stats()`); read at every STATS. */
  stats(): ServerStats;
}

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
 * import { discoverySubject } from "./discovery.ts";
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
 * The metadata of an action's endpoint: its schemas as JSON text and its
 * flags (see {@linkcode ENDPOINT_METADATA}).
 *
 * @example
 * ```ts
 * import { endpointMetadata } from "./discovery.ts";
 * import assert from "node:assert/strict";
 *
 * const metadata = endpointMetadata({
 *   name: "add", idempotent: true, streams: false, inputStream: false,
 *   input: { type: "array" },
 * });
 * assert.deepEqual(metadata, {
 *   idempotent: "true", streams: "false", input_schema: '{"type":"array"}',
 * });
 * ```
 *
 * @param description The action's description (reflection).
 * @returns The metadata.
 */
export function endpointMetadata(
  description: ActionDescription,
): Record<string, string> {
  const metadata: Record<string, string> = {
    [ENDPOINT_METADATA.idempotent]: String(description.idempotent),
    [ENDPOINT_METADATA.streams]: String(description.streams),
  };
  if (description.input !== undefined) {
    metadata[ENDPOINT_METADATA.input] = JSON.stringify(description.input);
  }
  if (description.output !== undefined) {
    metadata[ENDPOINT_METADATA.output] = JSON.stringify(description.output);
  }
  return metadata;
}

/**
 * The answer to `$SRV.STATS` for a service: one entry per endpoint, with
 * isock's milliseconds as micro's nanoseconds. Stats of actions that have
 * no endpoint now (removed, or built in) are left out: micro counts per
 * endpoint.
 *
 * @param service The service.
 * @returns The answer.
 */
export function statsResponse(
  service: DiscoverableService,
): MicroStatsResponse {
  const stats = service.stats();
  const byName = new Map<string, ActionStats>();
  for (const entry of stats.actions) byName.set(entry.name, entry);
  return {
    ...identity(service, "STATS"),
    started: stats.started.toISOString(),
    endpoints: service.endpoints().map((endpoint) =>
      endpointStats(endpoint, byName.get(endpoint.name))
    ),
  };
}

/**
 * The answer to `$SRV.INFO` for a service.
 *
 * @param service The service.
 * @returns The answer.
 */
export function infoResponse(service: DiscoverableService): MicroInfoResponse {
  return {
    ...identity(service, "INFO"),
    description: service.description,
    endpoints: service.endpoints().map((
      { name, subject, queue_group, metadata },
    ) => ({
      name,
      subject,
      ...(queue_group === undefined ? {} : { queue_group }),
      metadata: metadata ?? {},
    })),
  };
}

const NANOS_PER_MS = 1_000_000;

function endpointStats(
  { name, subject, queue_group }: MicroEndpointInfo,
  stats: ActionStats | undefined,
): MicroEndpointStats {
  const lastError = stats?.lastError;
  return {
    name,
    subject,
    ...(queue_group === undefined ? {} : { queue_group }),
    num_requests: stats?.calls ?? 0,
    num_errors: stats?.errors ?? 0,
    last_error: lastError === undefined
      ? ""
      : `${lastError.code}: ${lastError.message}`,
    processing_time: Math.round((stats?.processingTime ?? 0) * NANOS_PER_MS),
    average_processing_time: Math.round(
      (stats?.averageProcessingTime ?? 0) * NANOS_PER_MS,
    ),
    data: {
      running: stats?.running ?? 0,
      ...(lastError === undefined ? {} : {
        last_error: {
          code: lastError.code,
          message: lastError.message,
          time: lastError.time.toISOString(),
        },
      }),
    },
  };
}

function identity(
  service: DiscoverableService,
  verb: DiscoveryVerb,
): MicroIdentity {
  return {
    type: RESPONSE_TYPES[verb],
    name: service.name,
    id: service.id,
    version: service.version,
    metadata: service.metadata,
  };
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
  const ping = encoder.encode(JSON.stringify(identity(service, "PING")));
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
