/**
 * Reflection: what a side offers, told to its peer. A built-in request,
 * `$isock.describe`, answers with the actions registered (names, whether
 * they stream, idempotence, and their schemas as JSON Schema when the schema
 * library can say). The registry answers it; it is not an action of its own
 * and never shows in `actionNames`. PROTOCOL.md, "Reflection", is the
 * contract other implementations follow.
 *
 * @module
 */

import type { StandardSchemaV1 } from "../base/schema.ts";
import { type Action, action } from "./action.ts";
import type { ActionRef } from "./peer.ts";
import {
  type ActionDescription,
  DESCRIBE_ACTION,
  type JsonSchema,
  REFLECTION_VERSION,
} from "./description.ts";

/** A typed reference to the describe request: idempotent, so a client may send it again. */
export const describeRef: ActionRef<undefined, unknown> = action<
  undefined,
  unknown
>(DESCRIBE_ACTION, { idempotent: true });

/**
 * The built-in action that answers a describe request.
 *
 * @param actions The actions registered now, read at each request.
 * @returns The action.
 */
export function describeAction(actions: () => Iterable<Action>): Action {
  return action(DESCRIBE_ACTION, { idempotent: true }, () => ({
    version: REFLECTION_VERSION,
    actions: Array.from(actions(), describeOne),
  })) as unknown as Action;
}

const described = new WeakMap<Action, ActionDescription>();

/**
 * Describes one action; remembered, as an action never changes.
 *
 * @example
 * ```ts
 * import { describeOne } from "./reflection.ts";
 * import { action, type Action } from "./action.ts";
 * import assert from "node:assert/strict";
 *
 * const ticks = action("ticks", async function* () { yield 1; });
 * assert.deepEqual(describeOne(ticks as unknown as Action), {
 *   name: "ticks", idempotent: false, streams: true, inputStream: true,
 * });
 * ```
 *
 * @param item The action.
 * @returns Its description.
 */
export function describeOne(item: Action): ActionDescription {
  let description = described.get(item);
  if (description === undefined) {
    const input = item.input && jsonSchemaOf(item.input, "input");
    const output = item.output && jsonSchemaOf(item.output, "output");
    description = {
      name: item.name,
      idempotent: item.idempotent === true,
      streams: Object.prototype.toString.call(item.handler) ===
        "[object AsyncGeneratorFunction]",
      inputStream: item.input === undefined,
      ...(input && { input }),
      ...(output && { output }),
    };
    described.set(item, description);
  }
  return description;
}

/** What Standard JSON Schema adds to a schema's `~standard` properties. */
interface JsonSchemaConverter {
  readonly input?: (options: ConverterOptions) => unknown;
  readonly output?: (options: ConverterOptions) => unknown;
}

interface ConverterOptions {
  readonly target: string;
  readonly libraryOptions?: Record<string, unknown>;
}

/**
 * A schema's JSON Schema through Standard JSON Schema, or `undefined` when
 * the library offers none or cannot convert this schema (a transform, say).
 */
function jsonSchemaOf(
  schema: StandardSchemaV1,
  side: "input" | "output",
): JsonSchema | undefined {
  const standard = schema["~standard"] as StandardSchemaV1.Props & {
    readonly jsonSchema?: JsonSchemaConverter;
  };
  const converter = standard.jsonSchema;
  const convert = converter?.[side];
  if (typeof convert !== "function") return undefined;
  try {
    const result = convert.call(converter, {
      target: "draft-2020-12",
      // zod throws on a Date or a bigint unless told to write `{}` for them;
      // other libraries' options are their own, so none are passed.
      libraryOptions: standard.vendor === "zod"
        ? { unrepresentable: "any" }
        : undefined,
    });
    // Plain JSON only: whatever else the library put in stays home.
    const json: unknown = JSON.parse(JSON.stringify(result));
    return typeof json === "object" && json !== null && !Array.isArray(json)
      ? json as JsonSchema
      : undefined;
  } catch {
    return undefined;
  }
}
