/**
 * How the `isock` command line fails: the exit codes, one per kind of
 * failure, and the one-line report of an error (its isock code and
 * message, never a stack).
 *
 * @module
 */

import {
  ClientError,
  CodecError,
  IsockError,
  RemoteError,
} from "../base/errors.ts";
import { printable, printableJson } from "./printable.ts";

/** The exit codes of `isock`, one per kind of failure. */
export const EXIT = {
  /** Everything worked. */
  ok: 0,
  /** The server answered with an error (the action failed, no such action…). */
  remote: 1,
  /** The command line was wrong: an unknown command or flag, a bad target. */
  usage: 2,
  /** The data was refused: not JSON, unreadable, or invalid for the action. */
  input: 3,
  /** No connection: refused, unreachable, TLS, authentication, dropped. */
  connection: 4,
  /** The deadline (`--timeout`) passed. */
  timeout: 5,
  /** A bug in isock itself; please report it. */
  internal: 70,
} as const;

/** One of {@linkcode EXIT}'s values. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/** The exit code table, for `--help` and docs/cli.md. */
export const EXIT_TABLE: string = [
  "Exit codes:",
  "  0   success",
  "  1   remote error: the server answered with an error (ACTION_FAILED, UNKNOWN_ACTION…)",
  "  2   usage error: unknown command or flag, bad TARGET",
  "  3   invalid input: DATA is not JSON or unreadable, or the server refused it (INVALID_INPUT)",
  "  4   connection: cannot connect, TLS, authentication (UNAUTHORIZED), connection lost",
  "  5   timeout (--timeout)",
  "  70  internal error (a bug: please report it)",
].join("\n");

/** A failure of the command line itself: bad usage or bad data. */
export class CliError extends Error {
  /** A stable code, as isock errors have (`USAGE`, `INVALID_JSON`…). */
  readonly code: string;
  /** The exit code. */
  readonly exitCode: ExitCode;

  /**
   * Creates a `CliError`.
   *
   * @param code The stable code.
   * @param message What went wrong and what to do.
   * @param exitCode The exit code.
   */
  constructor(code: string, message: string, exitCode: ExitCode) {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/**
 * A usage error.
 *
 * @param message What is wrong with the command line.
 * @returns The error.
 */
export function usage(message: string): CliError {
  return new CliError("USAGE", message, EXIT.usage);
}

/** A failure, ready to print. */
export interface Failure {
  /** The isock code (or the CLI's own). */
  readonly code: string;
  /** One line. */
  readonly message: string;
  /** The exit code. */
  readonly exitCode: ExitCode;
  /** The schema's issues, for `INVALID_INPUT`. */
  readonly issues?: unknown;
  /** The remote error's class name, for a remote error. */
  readonly remoteName?: string;
}

const CONNECTION_CODES = new Set([
  "CONNECT_FAILED",
  "TLS_FAILED",
  "UNAUTHORIZED",
  "CONNECTION_CLOSED",
  "PROTOCOL",
  "UNAVAILABLE",
]);

/**
 * Sorts an error into its exit code and one-line message.
 *
 * @example
 * ```ts
 * import { classify, EXIT } from "./exit_codes.ts";
 * import { ClientError } from "../base/errors.ts";
 * import assert from "node:assert/strict";
 *
 * const failure = classify(new ClientError("TIMEOUT", "too slow"));
 * assert.equal(failure.exitCode, EXIT.timeout);
 * ```
 *
 * @param error What was thrown.
 * @returns The failure.
 */
export function classify(error: unknown): Failure {
  const message = oneLine(
    error instanceof Error ? error.message : String(error),
  );
  if (error instanceof CliError) {
    return { code: error.code, message, exitCode: error.exitCode };
  }
  if (error instanceof RemoteError) {
    const { issues, remoteName } = error;
    return {
      code: error.code,
      // What the handler threw: "RangeError: out of range".
      message: error.code === "ACTION_FAILED" && remoteName !== undefined &&
          remoteName !== "Error"
        ? `${remoteName}: ${message}`
        : message,
      exitCode: error.code === "INVALID_INPUT" ? EXIT.input : EXIT.remote,
      remoteName: error.remoteName,
      ...(issues !== undefined && { issues }),
    };
  }
  if (error instanceof ClientError) {
    const exitCode = error.code === "TIMEOUT"
      ? EXIT.timeout
      : CONNECTION_CODES.has(error.code)
      ? EXIT.connection
      : error.code === "FRAME_TOO_LARGE"
      ? EXIT.input
      : error.code === "INVALID_OPTIONS" || error.code === "INVALID_METADATA"
      ? EXIT.usage
      : EXIT.remote;
    return { code: error.code, message, exitCode };
  }
  if (error instanceof CodecError) {
    return {
      code: error.code,
      message,
      exitCode: error.code === "ENCODE_FAILED" ? EXIT.input : EXIT.remote,
    };
  }
  if (error instanceof IsockError) {
    return { code: error.code, message, exitCode: EXIT.connection };
  }
  return { code: "INTERNAL", message, exitCode: EXIT.internal };
}

/**
 * The line printed on stderr: `isock: CODE: message`, or a JSON object
 * with `--json`. A remote error's code, name, message and issues are the
 * server's words: they are {@linkcode printable} here.
 *
 * @param failure The failure.
 * @param json Whether to write JSON.
 * @returns The line, without its newline.
 */
export function failureLine(failure: Failure, json: boolean): string {
  return json
    ? printableJson({ error: failure })
    : `isock: ${printable(failure.code)}: ${printable(failure.message)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
