/**
 * Where `isock` connects: a TARGET as the user writes it, `host:port`,
 * `tls://host:port`, or `[::1]:port` for an IPv6 address.
 *
 * @module
 */

import { usage } from "./exit_codes.ts";

/** A TARGET, read. */
export interface Target {
  /** The host name or IP address (IPv6 without brackets). */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
  /** Whether `tls://` was asked for. */
  readonly tls: boolean;
}

/**
 * Reads a TARGET.
 *
 * @example
 * ```ts
 * import { parseTarget } from "./target.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseTarget("tls://[::1]:4000"), { hostname: "::1", port: 4000, tls: true });
 * assert.deepEqual(parseTarget("localhost:80"), { hostname: "localhost", port: 80, tls: false });
 * ```
 *
 * @param text What the user wrote.
 * @returns The target.
 * @throws {CliError} `USAGE` for anything else.
 */
export function parseTarget(text: string): Target {
  const scheme = /^([a-z]+):\/\//i.exec(text);
  const kind = scheme?.[1].toLowerCase() ?? "tcp";
  if (kind !== "tcp" && kind !== "tls") {
    throw usage(
      `TARGET "${text}": the scheme ${kind}:// is not supported; use host:port or tls://host:port.`,
    );
  }
  const rest = scheme === null ? text : text.slice(scheme[0].length);
  const match = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]/\s]+)):(\d{1,5})$/.exec(
    rest,
  );
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port < 1 || port > 65535) {
    throw usage(
      `TARGET "${text}" is not host:port, tls://host:port or [::1]:port.`,
    );
  }
  return { hostname: match[1] ?? match[2], port, tls: kind === "tls" };
}
