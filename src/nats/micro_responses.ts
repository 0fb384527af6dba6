/**
 * The JSON documents of the NATS micro discovery protocol (ADR-32), as isock
 * writes and reads them: the `io.nats.micro.v1.ping_response`,
 * `info_response` and `stats_response` shapes, the endpoint metadata isock
 * adds, and how a server instance's actions and stats become them.
 * service_discovery.ts sends them on the bus; client_discovery.ts reads them back.
 * PROTOCOL.md, "Over NATS — discovery", is the contract.
 *
 * @module
 */

import type { ActionStats, ServerStats } from "../dispatch/action_stats.ts";
import type { ActionDescription } from "../dispatch/description.ts";

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
export interface MicroEndpointStats
  extends Omit<MicroEndpointInfo, "metadata"> {
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

/**
 * The metadata of an action's endpoint: its schemas as JSON text and its
 * flags (see {@linkcode ENDPOINT_METADATA}).
 *
 * @example
 * ```ts
 * import { endpointMetadata } from "./micro_responses.ts";
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

/**
 * The answer to `$SRV.PING` for a service: what every answer starts with.
 * It never changes while the instance runs.
 *
 * @param service The service.
 * @returns The answer.
 */
export function pingResponse(service: DiscoverableService): MicroIdentity {
  return identity(service, "PING");
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
