/**
 * JSON Schema, told briefly: a one-line summary of a schema's shape for
 * `isock ls` (`{x: number, y?: string}`), and a data template for `isock
 * describe` that the user edits and passes to `isock call`.
 *
 * @module
 */

import type { JsonSchema } from "../dispatch/description.ts";

/** The longest summary `isock ls` prints before cutting it with "…". */
const SUMMARY_LENGTH = 60;

/**
 * A one-line summary of a schema: `any` when there is none.
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
  const text = schema === undefined ? "any" : shape(schema, 0);
  return text.length > SUMMARY_LENGTH
    ? `${text.slice(0, SUMMARY_LENGTH - 1)}…`
    : text;
}

function shape(schema: unknown, depth: number): string {
  if (schema === true || !isSchema(schema)) return "any";
  if ("const" in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  }
  const options = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(options)) {
    return options.map((option) => shape(option, depth)).join(" | ");
  }
  const type = schema.type;
  if (Array.isArray(type)) {
    return type.map((one) => shape({ ...schema, type: one }, depth)).join(
      " | ",
    );
  }
  if (type === "array") {
    if (Array.isArray(schema.prefixItems)) {
      return `[${
        schema.prefixItems.map((item) => shape(item, depth + 1)).join(", ")
      }]`;
    }
    const items = shape(schema.items, depth + 1);
    return items.includes(" ") ? `(${items})[]` : `${items}[]`;
  }
  if (type === "object") {
    const properties = isSchema(schema.properties) ? schema.properties : {};
    const names = Object.keys(properties);
    if (names.length === 0) return "object";
    if (depth >= 2) return "{…}";
    const required = Array.isArray(schema.required) ? schema.required : [];
    return `{${
      names.map((name) =>
        `${name}${required.includes(name) ? "" : "?"}: ${
          shape(properties[name], depth + 1)
        }`
      ).join(", ")
    }}`;
  }
  return typeof type === "string" ? type : "any";
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
