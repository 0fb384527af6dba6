/**
 * Errors as they travel (PROTOCOL.md, "Error object"): what a thrown value
 * becomes on the wire, and what a caller gets back from one.
 *
 * @module
 */

import {
  ClientError,
  type IsockError,
  RemoteError,
  type RemoteErrorCode,
} from "./errors.ts";
import type { WireError } from "./protocol.ts";

/** Errors of calls the peer refused without running them: safe to send again. */
const unrunCalls = new WeakSet<Error>();

/** Whether a call failed without having run (the peer was closing): sending it again is safe. */
export function wasNotRun(error: unknown): boolean {
  return error instanceof Error && unrunCalls.has(error);
}

/**
 * The error object sent for a thrown value. It never throws itself, even for
 * values whose getters or `toString` do.
 */
export function wireError(code: string, thrown: unknown): WireError {
  try {
    if (thrown instanceof Error) {
      const error: WireError = {
        code,
        name: safeString(thrown.name),
        message: safeString(thrown.message),
      };
      if (typeof thrown.stack === "string") error.stack = thrown.stack;
      if ("cause" in thrown) error.cause = thrown.cause;
      return error;
    }
  } catch {
    // A hostile error object: fall through to the plain description.
  }
  return { code, name: "Error", message: safeString(thrown), cause: thrown };
}

/** A string for any value, never throwing. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A copy of an error chain without stack traces; other values as they are. */
export function withoutStacks(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error) || depth > 16) return value;
  const copy = new Error(value.message);
  copy.name = value.name;
  Object.defineProperty(copy, "stack", { value: undefined });
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, {
      value: (value as unknown as Record<string, unknown>)[key],
      enumerable: true,
    });
  }
  if ("cause" in value) copy.cause = withoutStacks(value.cause, depth + 1);
  return copy;
}

/** The error a call rejects with when the peer answered with `error`. */
export function errorFromWire(error: WireError): IsockError {
  if (error.code === "CONNECTION_CLOSED") {
    const refused = new ClientError("CONNECTION_CLOSED", error.message);
    unrunCalls.add(refused);
    return refused;
  }
  if (error.code === "UNAUTHORIZED") {
    return new ClientError("UNAUTHORIZED", error.message);
  }
  return new RemoteError(error.code as RemoteErrorCode, error.message, {
    remoteName: error.name,
    remoteStack: error.stack,
    issues: error.issues,
    ...("cause" in error ? { cause: error.cause } : {}),
  });
}
