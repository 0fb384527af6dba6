/**
 * The `isock` command line, read: the command, its arguments, and the
 * flags, each checked against the table of the flags it takes.
 *
 * Where `isock` connects: a TARGET as the user writes it, `host:port`,
 * `tls://host:port`, or `[::1]:port` for an IPv6 address.
 *
 * @module
 */

import { usage } from "./exit_codes.ts";

/** The commands. */
export type CommandName = "ls" | "describe" | "call" | "ping" | "help";

/** A command line, read. */
export interface CommandLine {
  /** The command. */
  readonly command: CommandName;
  /** The arguments after the command: TARGET, ACTION, DATA. */
  readonly positionals: readonly string[];
  /** `--help` (or `-h`) was given: print the command's help. */
  readonly help: boolean;
  /** `--json`: machine-readable output and errors. */
  readonly json: boolean;
  /** `--timeout`, in milliseconds. */
  readonly timeout?: number;
  /** `--metadata key=value`, repeatable: the call's metadata, in order. */
  readonly metadata: readonly (readonly [string, string])[];
  /** `--ca FILE`: trust this certificate authority (PEM) for TLS. */
  readonly ca?: string;
  /** `--insecure-skip-verify`: TLS without checking the server's certificate. */
  readonly insecureSkipVerify: boolean;
  /** `--secret`: the shared secret. */
  readonly secret?: string;
  /** `--secret-file FILE`: read the shared secret from a file. */
  readonly secretFile?: string;
  /** `--input-stream`: `call` reads NDJSON from stdin as the input stream. */
  readonly inputStream: boolean;
  /** `-c N`: how many pings. */
  readonly count?: number;
  /** `-i MS`: milliseconds between pings. */
  readonly interval?: number;
}

interface FlagRule {
  /** The key in `CommandLine`. */
  readonly key: keyof CommandLine;
  /** How the value is read; none for a switch. */
  readonly value?: "text" | "duration" | "count" | "pair";
  /** The commands that take it; every one when absent. */
  readonly commands?: readonly CommandName[];
}

const FLAGS: Readonly<Record<string, FlagRule>> = {
  "--help": { key: "help" },
  "-h": { key: "help" },
  "--json": { key: "json" },
  "--timeout": { key: "timeout", value: "duration" },
  "--metadata": { key: "metadata", value: "pair" },
  "-m": { key: "metadata", value: "pair" },
  "--ca": { key: "ca", value: "text" },
  "--insecure-skip-verify": { key: "insecureSkipVerify" },
  "--secret": { key: "secret", value: "text" },
  "--secret-file": { key: "secretFile", value: "text" },
  "--input-stream": { key: "inputStream", commands: ["call"] },
  "--count": { key: "count", value: "count", commands: ["ping"] },
  "-c": { key: "count", value: "count", commands: ["ping"] },
  "--interval": { key: "interval", value: "duration", commands: ["ping"] },
  "-i": { key: "interval", value: "duration", commands: ["ping"] },
};

const COMMANDS: readonly CommandName[] = [
  "ls",
  "describe",
  "call",
  "ping",
  "help",
];

/**
 * Reads a command line.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const line = parseArgs(["call", "localhost:4000", "add", "[1,2]", "--timeout=2s"]);
 * assert.equal(line.command, "call");
 * assert.deepEqual(line.positionals, ["localhost:4000", "add", "[1,2]"]);
 * assert.equal(line.timeout, 2000);
 * ```
 *
 * @param args The arguments after the program's name.
 * @returns The command line.
 * @throws {CliError} `USAGE` for an unknown command or flag, or a bad value.
 */
export function parseArgs(args: readonly string[]): CommandLine {
  const line: Record<string, unknown> = {
    help: false,
    json: false,
    insecureSkipVerify: false,
    inputStream: false,
  };
  const metadata: [string, string][] = [];
  const positionals: string[] = [];
  let command: CommandName | undefined;
  let onlyPositionals = false;
  const flags: [string, string | undefined][] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (onlyPositionals || arg === "-" || !arg.startsWith("-")) {
      if (command === undefined) command = commandNamed(arg);
      else positionals.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositionals = true;
      continue;
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg : arg.slice(0, equals);
    const rule = FLAGS[name];
    if (rule === undefined) {
      throw usage(`Unknown flag ${name}; see isock --help.`);
    }
    let value: string | undefined;
    if (rule.value !== undefined) {
      value = equals === -1 ? args[++index] : arg.slice(equals + 1);
      if (value === undefined) throw usage(`${name} needs a value.`);
    } else if (equals !== -1) {
      throw usage(`${name} takes no value.`);
    }
    flags.push([name, value]);
  }
  const resolved = command ?? "help";
  for (const [name, value] of flags) {
    const rule = FLAGS[name];
    if (rule.commands !== undefined && !rule.commands.includes(resolved)) {
      throw usage(`${name} is a flag of isock ${rule.commands.join(", ")}.`);
    }
    if (rule.value === "pair") metadata.push(readPair(name, value!));
    else {
      line[rule.key] = value === undefined
        ? true
        : readValue(name, rule, value);
    }
  }
  return {
    ...line,
    command: resolved,
    positionals,
    metadata,
  } as unknown as CommandLine;
}

function commandNamed(arg: string): CommandName {
  const command = COMMANDS.find((name) => name === arg);
  if (command === undefined) {
    throw usage(
      `Unknown command "${arg}": use ls, describe, call or ping (isock --help).`,
    );
  }
  return command;
}

/** Reads `key=value`; the key must be a metadata key (the call checks the rest). */
function readPair(name: string, value: string): [string, string] {
  const equals = value.indexOf("=");
  if (equals < 1) {
    throw usage(
      `${name} takes key=value, such as x-request-id=42; got "${value}".`,
    );
  }
  return [value.slice(0, equals), value.slice(equals + 1)];
}

function readValue(name: string, rule: FlagRule, value: string): unknown {
  if (rule.value === "duration") return parseDuration(name, value);
  if (rule.value === "count") {
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1 || count > 1_000_000) {
      throw usage(`${name} takes a whole number from 1; got "${value}".`);
    }
    return count;
  }
  return value;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Reads a duration: milliseconds (`500`, `500ms`), seconds (`2s`, `1.5s`)
 * or minutes (`1m`).
 *
 * @param name The flag, for the error.
 * @param value What was given.
 * @returns Milliseconds.
 * @throws {CliError} `USAGE` for anything else.
 */
export function parseDuration(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = match && Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]);
  if (ms === null || ms < 1 || ms > 2_147_483_647) {
    throw usage(
      `${name} takes a duration such as 500ms, 2s or 1m; got "${value}".`,
    );
  }
  return ms;
}

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
 * import { parseTarget } from "./args.ts";
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
