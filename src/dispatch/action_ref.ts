/**
 * A reference to an action: its name and what it declares about itself,
 * typed. The lowest piece of the dispatch layer, so that the peer and the
 * action types can both use it.
 *
 * @module
 */

import type { StandardSchemaV1 } from "../base/schema.ts";

/**
 * A typed reference to an action: its name, what it declares about itself
 * (schemas, idempotence), and (for the type checker only) what it takes and
 * returns. Pass one to {@linkcode Client.runAction} to get a typed result.
 *
 * @typeParam I What the action takes.
 * @typeParam O What it returns.
 */
export interface ActionRef<I = never, O = unknown> {
  /** The name the server knows the action by. */
  readonly name: string;
  /**
   * Checks the data before the handler runs; invalid data is refused with
   * `INVALID_INPUT` and the schema's issues.
   */
  readonly input?: StandardSchemaV1;
  /** Checks the result before it leaves the server. */
  readonly output?: StandardSchemaV1;
  /**
   * Whether running the action twice does no harm. The client then sends it
   * again, on a new connection, when the connection drops under it.
   */
  readonly idempotent?: boolean;
  /** Carries the input and output types for the type checker; never set. */
  readonly "~types"?: { input: (input: I) => void; output: O };
}

/** Whether `value` names an action: an object with a non-empty string `name`. */
export function isActionRef(value: unknown): value is ActionRef {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    (value as { name: string }).name.length > 0;
}
