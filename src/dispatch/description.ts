/**
 * The description a side gives of the actions it offers (reflection): its
 * types, the reserved names, and the check of an answer. The answering
 * side is in reflection.ts; PROTOCOL.md, "Reflection", is the contract.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";

/** Names beginning with this are isock's own requests; actions may not use them. */
export const RESERVED_PREFIX = "$isock.";

/** The name of the built-in describe request. */
export const DESCRIBE_ACTION = "$isock.describe";

/** The version of the description this implementation sends. */
export const REFLECTION_VERSION = 1;

/** A JSON Schema document (draft 2020-12), as the schema library wrote it. */
export type JsonSchema = { readonly [key: string]: unknown };

/**
 * What a server (or a two-way client) offers: the answer to
 * {@linkcode Client.describe}. Fields may be added without a new version;
 * `version` changes only when a field's meaning does.
 */
export interface ServiceDescription {
  /** The description's format: 1. */
  readonly version: number;
  /** The actions, in the order they were added. */
  readonly actions: readonly ActionDescription[];
}

/** One action, as {@linkcode ServiceDescription} tells it. */
export interface ActionDescription {
  /** The name to call it by. */
  readonly name: string;
  /** Whether the action declared itself idempotent (safe to run twice). */
  readonly idempotent: boolean;
  /**
   * Whether every call streams its result: `true` when the handler is an
   * async generator function. An ordinary function may return an async
   * iterable too; only running it tells, so such an action says `false`.
   */
  readonly streams: boolean;
  /**
   * Whether the server takes the data as an input stream: `true` for every
   * action without an input schema (a schema checks one value). Whether the
   * handler expects a stream is up to it.
   */
  readonly inputStream: boolean;
  /**
   * The input schema as JSON Schema, when the action has one and its library
   * implements Standard JSON Schema (zod 4 does). Types JSON cannot express
   * (a `Date`, a `bigint`) show as `{}` (anything).
   */
  readonly input?: JsonSchema;
  /** The output schema as JSON Schema, under the same conditions. */
  readonly output?: JsonSchema;
}

/**
 * Checks what a describe request returned.
 *
 * @param value The answer.
 * @returns It, typed.
 * @throws {ClientError} `PROTOCOL` when it is not a description.
 */
export function readDescription(value: unknown): ServiceDescription {
  const description = value as Partial<ServiceDescription> | undefined;
  const isDescription = typeof description === "object" &&
    description !== null && typeof description.version === "number" &&
    Array.isArray(description.actions) &&
    description.actions.every((item: unknown) =>
      typeof item === "object" && item !== null &&
      typeof (item as { name?: unknown }).name === "string"
    );
  if (!isDescription) {
    throw new ClientError(
      "PROTOCOL",
      `The answer to "${DESCRIBE_ACTION}" is not a description of actions.`,
    );
  }
  return description as ServiceDescription;
}
