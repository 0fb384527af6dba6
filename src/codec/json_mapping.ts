/**
 * STAND-IN, to be replaced by helper "json"'s src/codec/json_mapping.ts
 * when it merges (issue 13 item 3): the same two names and signatures, a
 * minimal mapping (Date, bigint, bytes, undefined) so that the CLI can be
 * built and tested meanwhile. Do not extend it; take theirs on merge.
 *
 * @module
 */

import type { Extension } from "./extension.ts";

/** A JSON value. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Options of the mapping. */
export interface JsonMappingOptions {
  /** Extension classes, written as tagged objects. */
  readonly extensions?: readonly Extension[];
}

/**
 * Writes an isock value as JSON (stand-in).
 *
 * @param value The value.
 * @param _options Extensions.
 * @returns Its JSON form.
 */
export function valueToJson(
  value: unknown,
  _options: JsonMappingOptions = {},
): JsonValue {
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "string") return value;
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0)
      ? value
      : { $number: String(value) };
  }
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Uint8Array) {
    return { $bytes: btoa(String.fromCharCode(...value)) };
  }
  if (Array.isArray(value)) return value.map((item) => valueToJson(item));
  if (typeof value === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = valueToJson(item);
    }
    return out;
  }
  return String(value);
}

/**
 * Reads JSON into an isock value (stand-in).
 *
 * @param json The JSON value.
 * @param _options Extensions.
 * @returns The value.
 */
export function jsonToValue(
  json: unknown,
  _options: JsonMappingOptions = {},
): unknown {
  if (Array.isArray(json)) return json.map((item) => jsonToValue(item));
  if (typeof json !== "object" || json === null) return json;
  const record = json as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const tag = record[keys[0]];
    if (keys[0] === "$date" && typeof tag === "string") return new Date(tag);
    if (keys[0] === "$bigint" && typeof tag === "string") return BigInt(tag);
    if (keys[0] === "$undefined") return undefined;
    if (keys[0] === "$number" && typeof tag === "string") return Number(tag);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = jsonToValue(record[key]);
  return out;
}
