/**
 * JSON Schema, told briefly: a one-line summary of a schema's shape for
 * `isock ls` (`{x: number, y?: string}`), and a data template for `isock
 * describe` that the user edits and passes to `isock call`.
 *
 * @module
 */

import type { JsonSchema } from "../dispatch/description.ts";
import { printable } from "./printable.ts";

/** The longest summary `isock ls` prints before cutting it with "…". */
export const SUMMARY_LENGTH = 60;

/** How many levels of subschemas a summary goes down before writing "…". */
export const SUMMARY_DEPTH = 8;

/** How many subschemas a summary looks at, however the schema is built. */
export const SUMMARY_NODES = 200;

/**
 * A one-line summary of a schema: `any` when there is none. The schema
 * comes from a server, so the summary is built within a budget: each
 * subschema is looked at once (a list of types shares its `items` and
 * `properties`), at most {@linkcode SUMMARY_NODES} of them and
 * {@linkcode SUMMARY_DEPTH} levels down, and the walk stops as soon as
 * the text is longer than {@linkcode SUMMARY_LENGTH} characters; what is
 * left out shows as "…". Names and values in it are
 * {@linkcode printable}.
 *
 * @example
 * ```ts
 * import { summarize } from "./schema_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(summarize({
 *   type: "object",
 *   properties: { x: { type: "number" }, tag: { type: "string" } },
 *   required: ["x"],
 * }), "{x: number, tag?: string}");
 * ```
 *
 * @param schema The JSON Schema, if any.
 * @returns The summary.
 */
export function summarize(schema: JsonSchema | undefined): string {
  const text = schema === undefined
    ? "any"
    : new SummaryWalk().shape(schema, 0, 0, SUMMARY_LENGTH);
  return text.length > SUMMARY_LENGTH
    ? `${text.slice(0, SUMMARY_LENGTH - 1).replace(CUT_SHORT, "")}…`
    : text;
}

/** What a cut may leave half written: an escape, half a surrogate pair. */
const CUT_SHORT = /(?:\\(?:x[0-9a-f]?|u[0-9a-f]{0,3})?|[\ud800-\udbff])$/;

/**
 * One summary's walk. Each step gets `room`, the characters left; a text
 * longer than its room makes every enclosing text longer than its own, so
 * `summarize` cuts it. `depth` counts objects and arrays, for the layout
 * (an object two levels down is `{…}`); `level` counts every step down,
 * for the budget.
 */
class SummaryWalk {
  #nodesLeft = SUMMARY_NODES;

  shape(schema: unknown, depth: number, level: number, room: number): string {
    if (room <= 0 || level > SUMMARY_DEPTH || this.#nodesLeft <= 0) return "…";
    this.#nodesLeft--;
    if (schema === true || !isSchema(schema)) return "any";
    if ("const" in schema) return valueText(schema.const, room);
    if (Array.isArray(schema.enum)) {
      return this.#list(schema.enum, " | ", room, valueText);
    }
    const options = schema.anyOf ?? schema.oneOf;
    if (Array.isArray(options)) {
      return this.#list(
        options,
        " | ",
        room,
        (option, left) => this.shape(option, depth, level + 1, left),
      );
    }
    const type = schema.type;
    if (!Array.isArray(type)) {
      return this.#typed(schema, type, depth, level, room);
    }
    // Each type once: ["array", "array", …] has one meaning, and one walk of
    // `items`.
    const seen = new Set<unknown>();
    return this.#list(type, " | ", room, (one, left) => {
      if (seen.has(one)) return undefined;
      seen.add(one);
      return this.#typed(schema, one, depth, level, left);
    });
  }

  #typed(
    schema: Record<string, unknown>,
    type: unknown,
    depth: number,
    level: number,
    room: number,
  ): string {
    if (type === "array") {
      if (Array.isArray(schema.prefixItems)) {
        return `[${
          this.#list(
            schema.prefixItems,
            ", ",
            room - 2,
            (item, left) => this.shape(item, depth + 1, level + 1, left),
          )
        }]`;
      }
      const items = this.shape(schema.items, depth + 1, level + 1, room - 2);
      return items.includes(" ") ? `(${items})[]` : `${items}[]`;
    }
    if (type === "object") {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      const names = Object.keys(properties);
      if (names.length === 0) return "object";
      if (depth >= 2) return "{…}";
      const required = new Set(
        Array.isArray(schema.required) ? schema.required : [],
      );
      return `{${
        this.#list(names, ", ", room - 2, (name, left) => {
          const label = `${printable(name.slice(0, left + 1))}${
            required.has(name) ? "" : "?"
          }: `;
          return label +
            this.shape(
              properties[name],
              depth + 1,
              level + 1,
              left - label.length,
            );
        })
      }}`;
    }
    return typeof type === "string"
      ? printable(type.slice(0, room + 1))
      : "any";
  }

  /**
   * The items' texts, joined, until the room or the budget is spent; an
   * item whose text is `undefined` is skipped.
   */
  #list<T>(
    items: readonly T[],
    separator: string,
    room: number,
    text: (item: T, room: number) => string | undefined,
  ): string {
    let joined = "";
    let count = 0;
    for (const item of items) {
      if (joined.length > room) break;
      const gap = count === 0 ? "" : separator;
      if (this.#nodesLeft <= 0) return `${joined}${gap}…`;
      const part = text(item, room - joined.length - gap.length);
      if (part === undefined) continue;
      joined += gap + part;
      count++;
    }
    return joined;
  }
}

/** A `const` or `enum` value, briefly: a container that is not empty is `[…]` or `{…}`. */
function valueText(value: unknown, room: number): string {
  if (typeof value === "string") {
    // Quoted, and escaped as names are: one style for both.
    return `"${printable(value.slice(0, room + 1)).replaceAll('"', '\\"')}"`;
  }
  if (Array.isArray(value)) return value.length === 0 ? "[]" : "[…]";
  if (typeof value === "object" && value !== null) {
    for (const _key in value) return "{…}";
    return "{}";
  }
  return printable(String(value));
}

/**
 * Data that fits a schema, to edit: defaults where the schema has them,
 * else empty strings, zeros, `false`, and every property of an object.
 *
 * @example
 * ```ts
 * import { template } from "./schema_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(template({
 *   type: "object",
 *   properties: { x: { type: "number" }, tags: { type: "array", items: { type: "string" } } },
 * }), { x: 0, tags: [""] });
 * ```
 *
 * @param schema The JSON Schema, if any.
 * @returns The template; `null` when nothing is known.
 */
export function template(schema: JsonSchema | undefined): unknown {
  return example(schema, 0);
}

function example(schema: unknown, depth: number): unknown {
  if (!isSchema(schema) || depth > 8) return null;
  if ("default" in schema) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) {
    return schema.examples[0];
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[0];
  }
  const options = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(options) && options.length > 0) {
    const chosen = options.find((option) =>
      !(isSchema(option) && option.type === "null")
    ) ?? options[0];
    return example(chosen, depth);
  }
  const type = Array.isArray(schema.type)
    ? schema.type.find((one) => one !== "null") ?? "null"
    : schema.type;
  switch (type) {
    case "string":
      return schema.format === "date-time" ? new Date(0).toISOString() : "";
    case "number":
    case "integer":
      return typeof schema.minimum === "number" ? schema.minimum : 0;
    case "boolean":
      return false;
    case "array":
      return Array.isArray(schema.prefixItems)
        ? schema.prefixItems.map((item) => example(item, depth + 1))
        : schema.items === undefined
        ? []
        : [example(schema.items, depth + 1)];
    case "object": {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      return Object.fromEntries(
        Object.entries(properties).map((
          [name, property],
        ) => [name, example(property, depth + 1)]),
      );
    }
    default:
      return null;
  }
}

function isSchema(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
