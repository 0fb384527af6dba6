/**
 * The error object as it travels (PROTOCOL.md, "Error object"), and the
 * check every incoming one passes: anything off is a protocol breach, and
 * nothing the peer sent is called.
 *
 * @module
 */

import type { SchemaIssue } from "../base/schema.ts";
import { isPlainObject, isRecord, malformed } from "./malformed.ts";

/** An error as it travels (PROTOCOL.md, "Error object"). */
export interface WireError {
  /** A stable code such as `"ACTION_FAILED"`. */
  code: string;
  /** The name of the error raised, such as `"TypeError"`. */
  name: string;
  /** Its message. */
  message: string;
  /** Its stack, when the sender chose to share it. */
  stack?: string;
  /** Its cause, when there was one and it could be encoded. */
  cause?: unknown;
  /** For `INVALID_INPUT` (and output checks): what the schema found wrong. */
  issues?: SchemaIssue[];
  /** The error's own fields, such as an HTTP `status` (PROTOCOL.md, "Error object"). */
  fields?: Record<string, unknown>;
}

/**
 * Checks the shape of an error object from the peer.
 *
 * @param value The decoded error item of a message.
 * @returns The error object, with only the known fields.
 * @throws {ProtocolError} `PROTOCOL` when it is malformed.
 * @example
 * ```ts
 * import { toWireError } from "./error_object.ts";
 * import assert from "node:assert/strict";
 *
 * const error = toWireError({ code: "X", name: "Error", message: "m", extra: 1 });
 * assert.deepStrictEqual(error, { code: "X", name: "Error", message: "m" });
 * assert.throws(() => toWireError("oops"), /must be a map/);
 * ```
 */
export function toWireError(value: unknown): WireError {
  if (!isRecord(value)) throw malformed("an error object must be a map");
  const { code, name, message, stack, issues, fields } = value;
  if (typeof code !== "string" || code.length === 0) {
    throw malformed("an error object's code must be a non-empty string");
  }
  if (typeof name !== "string" || typeof message !== "string") {
    throw malformed("an error object's name and message must be strings");
  }
  const error: WireError = { code, name, message };
  if (stack !== undefined) {
    if (typeof stack !== "string") {
      throw malformed("an error object's stack must be a string");
    }
    error.stack = stack;
  }
  if ("cause" in value) error.cause = value.cause;
  if (issues !== undefined) error.issues = toIssues(issues);
  if (fields !== undefined) {
    if (!isPlainObject(fields)) {
      throw malformed("an error object's fields must be a map");
    }
    error.fields = fields;
  }
  return error;
}

const BAD_PATH = "an issue's path must be an array of strings and numbers";

function toIssues(value: unknown): SchemaIssue[] {
  if (!Array.isArray(value)) {
    throw malformed("an error object's issues must be an array");
  }
  const issues: SchemaIssue[] = [];
  // A plain loop: holes in the array are malformed issues too.
  for (let i = 0; i < value.length; i++) {
    const issue: unknown = value[i];
    if (!isRecord(issue) || typeof issue.message !== "string") {
      throw malformed("an issue must be a map with a string message");
    }
    const path: unknown = issue.path ?? [];
    if (!Array.isArray(path)) throw malformed(BAD_PATH);
    const keys: (string | number)[] = [];
    for (let j = 0; j < path.length; j++) {
      const key: unknown = path[j];
      if (typeof key !== "string" && typeof key !== "number") {
        throw malformed(BAD_PATH);
      }
      keys.push(key);
    }
    issues.push({ message: issue.message, path: keys });
  }
  return issues;
}
