/**
 * Listing the instances of a service on a bus, with their actions and
 * stats: `$SRV.INFO` and `$SRV.STATS` sent at once, the answers gathered
 * for a while, paired by instance id. Works for any NATS micro service,
 * isock's or not; isock's own figures (calls running, the last error's
 * code and time) come back where the answer carries them.
 *
 * @module
 */

import { deferred } from "../base/deferred.ts";
import { ClientError } from "../base/errors.ts";
import type { ActionStats } from "../dispatch/action_stats.ts";
import type { JsonSchema } from "../dispatch/description.ts";
import {
  type DiscoveryBus,
  type DiscoveryMessage,
  discoverySubject,
  isSubjectToken,
} from "./service_discovery.ts";
import {
  ENDPOINT_METADATA,
  type IsockEndpointData,
  type MicroEndpointStats,
  type MicroInfoResponse,
  type MicroStatsResponse,
  RESPONSE_TYPES,
} from "./micro_responses.ts";

/** Options of {@linkcode listInstances}. */
export interface ListInstancesOptions {
  /** Only the instances of this service; every micro service on the bus if absent. */
  readonly service?: string;
  /** Only the instance with this id (needs `service`). */
  readonly id?: string;
  /**
   * The most milliseconds to wait for answers.
   *
   * @default {1000}
   */
  readonly timeout?: number;
  /**
   * Once answers came, end early after this many milliseconds without a
   * new one (NATS's "stall" strategy): instances answer within
   * milliseconds of each other unless one is busy.
   *
   * @default {300}
   */
  readonly stall?: number;
}

/** One action of an instance, as its `$SRV.INFO` answer tells it. */
export interface InstanceEndpoint {
  /** The action's name. */
  readonly name: string;
  /** The subject its requests go to. */
  readonly subject: string;
  /** The queue group its instances share. */
  readonly queueGroup?: string;
  /** The endpoint's metadata, as sent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The input schema, when the metadata has it (`input_schema`). */
  readonly input?: JsonSchema;
  /** The output schema, when the metadata has it (`output_schema`). */
  readonly output?: JsonSchema;
}

/** An instance's stats, as its `$SRV.STATS` answer tells them, in isock's units. */
export interface InstanceStats {
  /** Since when the numbers count. */
  readonly started: Date;
  /** One entry per endpoint, in milliseconds as `server.stats()` has them. */
  readonly actions: readonly ActionStats[];
}

/** One instance of a service. */
export interface ServiceInstance {
  /** Its id, unique among the service's instances. */
  readonly id: string;
  /** The service's name. */
  readonly name: string;
  /** The service's version. */
  readonly version: string;
  /** A line about the service; `""` if its INFO answer did not come in time. */
  readonly description: string;
  /** Strings about the service. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Its actions; empty if its INFO answer did not come in time. */
  readonly endpoints: readonly InstanceEndpoint[];
  /** Its stats; absent if its STATS answer did not come in time. */
  readonly stats?: InstanceStats;
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Lists the instances of a service (or of every micro service) on a bus,
 * sorted by name, then id. Answers that are not micro documents are left
 * out.
 *
 * @example
 * ```ts ignore
 * const found = await listInstances(bus, { service: "lab", timeout: 500 });
 * for (const { id, stats } of found) {
 *   console.log(id, stats?.actions.map(({ name, calls }) => `${name}: ${calls}`));
 * }
 * ```
 *
 * @param bus The bus.
 * @param options Which service, how long to wait.
 * @returns The instances that answered in time.
 * @throws {ClientError} `INVALID_OPTIONS` on a bad service name, id or time.
 */
export async function listInstances(
  bus: DiscoveryBus,
  options: ListInstancesOptions = {},
): Promise<ServiceInstance[]> {
  const { service, id, timeout = 1000, stall = 300 } = options;
  checkOptions(options, timeout, stall);
  const infos = new Map<string, MicroInfoResponse>();
  const stats = new Map<string, MicroStatsResponse>();
  await gather(bus, timeout, stall, (message) => {
    const answer = parseAnswer(message.data);
    if (answer === undefined) return;
    // Keyed by name and id: ids are unique within a service only.
    const key = `${answer.name}\u0000${answer.id}`;
    if (answer.type === RESPONSE_TYPES.INFO) {
      infos.set(key, answer as MicroInfoResponse);
    } else if (answer.type === RESPONSE_TYPES.STATS) {
      stats.set(key, answer as MicroStatsResponse);
    }
  }, [
    discoverySubject("INFO", service, id),
    discoverySubject("STATS", service, id),
  ]);
  const instances: ServiceInstance[] = [];
  for (const key of new Set([...infos.keys(), ...stats.keys()])) {
    instances.push(toInstance(infos.get(key), stats.get(key)));
  }
  return instances.sort((a, b) =>
    a.name < b.name
      ? -1
      : a.name > b.name
      ? 1
      : a.id < b.id
      ? -1
      : a.id > b.id
      ? 1
      : 0
  );
}

function checkOptions(
  { service, id }: ListInstancesOptions,
  timeout: number,
  stall: number,
): void {
  const invalid = (message: string) =>
    new ClientError("INVALID_OPTIONS", message);
  if (service !== undefined && !isSubjectToken(service)) {
    throw invalid(
      `listInstances: service must be one subject token (no dots, wildcards or spaces); got ${
        JSON.stringify(service)
      }.`,
    );
  }
  if (id !== undefined && (service === undefined || !isSubjectToken(id))) {
    throw invalid(
      "listInstances: id must be one subject token, given with service.",
    );
  }
  for (const [name, value] of [["timeout", timeout], ["stall", stall]]) {
    if (typeof value !== "number" || !(value > 0) || value > 600_000) {
      throw invalid(
        `listInstances: ${name} must be milliseconds above 0 (at most 600000); got ${value}.`,
      );
    }
  }
}

/**
 * Sends each request with one inbox as reply subject and hands every
 * answer to `onAnswer` until `timeout` is up, or `stall` passes without
 * one once some came, or NATS said no one listens on any of them.
 */
async function gather(
  bus: DiscoveryBus,
  timeout: number,
  stall: number,
  onAnswer: (message: DiscoveryMessage) => void,
  subjects: readonly string[],
): Promise<void> {
  // Not Promise.withResolvers(): Node 20 lacks it.
  const done = deferred<void>();
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const inbox = bus.newInbox();
  let unanswered = 0;
  const subscription = bus.subscribe(inbox, {
    callback: (message) => {
      // NATS's "no responders" status (503, no body): no one listens on
      // that request's subject. Once every request drew one, no answer
      // can come.
      if (message.status !== undefined || message.data.length === 0) {
        if (message.status === 503 || message.status === undefined) {
          if (++unanswered === subjects.length) done.resolve();
        }
        return;
      }
      onAnswer(message);
      clearTimeout(stallTimer);
      stallTimer = setTimeout(done.resolve, stall);
    },
  });
  const timer = setTimeout(done.resolve, timeout);
  try {
    for (const subject of subjects) bus.publish(subject, EMPTY, inbox);
    await done.promise;
  } finally {
    clearTimeout(timer);
    clearTimeout(stallTimer);
    subscription.unsubscribe();
  }
}

/** An answer's identity and type, if it is a micro document at all. */
function parseAnswer(
  data: Uint8Array,
):
  | (MicroInfoResponse | MicroStatsResponse) & { readonly type: string }
  | undefined {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { type, name, id } = value as Record<string, unknown>;
  if (
    typeof type !== "string" || typeof name !== "string" ||
    typeof id !== "string"
  ) return undefined;
  const { endpoints } = value as { endpoints?: unknown };
  if (
    endpoints !== undefined && endpoints !== null && !Array.isArray(endpoints)
  ) {
    return undefined;
  }
  return value as MicroInfoResponse | MicroStatsResponse;
}

function toInstance(
  info: MicroInfoResponse | undefined,
  stats: MicroStatsResponse | undefined,
): ServiceInstance {
  // One of the two is there: the key came from one of the maps.
  const either = (info ?? stats)!;
  return {
    id: either.id,
    name: either.name,
    version: String(either.version ?? ""),
    description: String(info?.description ?? ""),
    metadata: stringRecord(either.metadata),
    endpoints: (info?.endpoints ?? []).filter(isNamed).map((endpoint) => {
      const metadata = stringRecord(endpoint.metadata);
      const input = parseSchema(metadata[ENDPOINT_METADATA.input]);
      const output = parseSchema(metadata[ENDPOINT_METADATA.output]);
      return {
        name: endpoint.name,
        subject: String(endpoint.subject ?? ""),
        ...(typeof endpoint.queue_group === "string" &&
          { queueGroup: endpoint.queue_group }),
        metadata,
        ...(input && { input }),
        ...(output && { output }),
      };
    }),
    ...(stats && {
      stats: {
        started: new Date(String(stats.started)),
        actions: (stats.endpoints ?? []).filter(isNamed).map(actionStats),
      },
    }),
  };
}

const MS_PER_NANO = 1 / 1_000_000;

/** Micro's endpoint stats in isock's names and milliseconds. */
function actionStats(endpoint: MicroEndpointStats): ActionStats {
  const calls = finiteOr0(endpoint.num_requests);
  const processingTime = finiteOr0(endpoint.processing_time) * MS_PER_NANO;
  const data =
    (typeof endpoint.data === "object" && endpoint.data !== null
      ? endpoint.data
      : {}) as Partial<IsockEndpointData>;
  const stats: ActionStats = {
    name: endpoint.name,
    calls,
    errors: finiteOr0(endpoint.num_errors),
    running: finiteOr0(data.running),
    processingTime,
    averageProcessingTime: finiteOr0(endpoint.average_processing_time) *
      MS_PER_NANO,
  };
  const full = data.last_error;
  if (
    typeof full === "object" && full !== null &&
    typeof full.code === "string" && typeof full.message === "string"
  ) {
    return {
      ...stats,
      lastError: {
        code: full.code,
        message: full.message,
        time: new Date(String(full.time)),
      },
    };
  }
  // Another implementation's last error: only its text is known.
  if (typeof endpoint.last_error === "string" && endpoint.last_error !== "") {
    return {
      ...stats,
      lastError: {
        code: "",
        message: endpoint.last_error,
        time: new Date(Number.NaN),
      },
    };
  }
  return stats;
}

function isNamed<T extends { readonly name: string }>(value: T): boolean {
  return typeof value === "object" && value !== null &&
    typeof value.name === "string";
}

function finiteOr0(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (typeof value !== "object" || value === null) return record;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === "string") record[key] = item;
  }
  return record;
}

function parseSchema(text: string | undefined): JsonSchema | undefined {
  if (text === undefined) return undefined;
  try {
    const schema: unknown = JSON.parse(text);
    return typeof schema === "object" && schema !== null &&
        !Array.isArray(schema)
      ? schema as JsonSchema
      : undefined;
  } catch {
    return undefined;
  }
}
