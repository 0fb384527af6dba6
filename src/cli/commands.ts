/**
 * The `isock` commands, over a connection they are handed: `ls`,
 * `describe`, `call` and `ping`. What they need of a client is declared
 * here ({@linkcode CliConnection}); the entry point hands in a `Client`.
 *
 * @module
 */

import { formatAddress } from "../wire/transport.ts";
import { RemoteError } from "../base/errors.ts";
import { valueToJson } from "../codec/json_write.ts";
import type { CallOptions, StreamCallOptions } from "../dispatch/peer.ts";
import type {
  ActionDescription,
  ServiceDescription,
} from "../dispatch/description.ts";
import type { CommandLine, Target } from "./args.ts";
import { CliError, EXIT } from "./exit_codes.ts";
import { ndjson, readData } from "./input.ts";
import { printable, printableJson, shellWord } from "./printable.ts";
import type { CliIo } from "./io.ts";
import { summarize, template } from "./schema_text.ts";

/** What the commands need of a client. */
export interface CliConnection {
  /** Connects now. */
  connect(): Promise<void>;
  /** Asks the server what it offers. */
  describe(options?: CallOptions): Promise<ServiceDescription>;
  /** Runs an action by name. */
  runAction(
    action: string,
    data?: unknown,
    options?: CallOptions,
  ): Promise<unknown>;
  /** Runs an action by name and iterates its result, streamed or not. */
  stream(
    action: string,
    data?: unknown,
    options?: StreamCallOptions,
  ): AsyncIterable<unknown>;
}

/** What every command is run with. */
export interface CommandContext {
  /** The connection to the target. */
  readonly connection: CliConnection;
  /** The command line. */
  readonly line: CommandLine;
  /** The target. */
  readonly target: Target;
  /** Output, input and files. */
  readonly io: CliIo;
  /** The deadline of each request, in milliseconds; 0 for none. */
  readonly timeout: number;
}

/** The name `isock ping` sends: reserved, so every server answers it unknown at once. */
export const PING_ACTION = "$isock.ping";

/** How many actions `isock ls` lists before saying how many it left out. */
export const LS_ACTIONS = 1000;

/** The widest a column of `isock ls` is padded to: a longer name is not. */
const LS_COLUMN_WIDTH = 40;

/**
 * `isock ls`: the actions, one a line (the first {@linkcode LS_ACTIONS},
 * then how many were left out), or the whole description.
 *
 * @param context The connection, command line and output.
 */
export async function ls(context: CommandContext): Promise<void> {
  const description = await describe(context);
  if (context.line.json) {
    return context.io.write(`${printableJson(valueToJson(description), 2)}\n`);
  }
  const { actions } = description;
  const rows = actions.slice(0, LS_ACTIONS).map((item) => [
    printable(item.name),
    item.streams ? "stream" : "call",
    item.idempotent ? "idempotent" : "-",
    `${summarize(item.input)} → ${summarize(item.output)}`,
  ]);
  const widths = [0, 0, 0];
  for (const row of rows) {
    for (let column = 0; column < widths.length; column++) {
      const width = Math.min(row[column].length, LS_COLUMN_WIDTH);
      if (width > widths[column]) widths[column] = width;
    }
  }
  const lines = rows.map((row) =>
    row.map((cell, column) => column < 3 ? cell.padEnd(widths[column]) : cell)
      .join("  ")
  );
  if (actions.length > rows.length) {
    lines.push(
      `${actions.length} actions; showing the first ${rows.length} (isock ls --json lists them all, isock describe TARGET ACTION shows one)`,
    );
  }
  await context.io.write(lines.length > 0 ? `${lines.join("\n")}\n` : "");
}

/**
 * `isock describe`: one action's schemas and a data template.
 *
 * @param context The connection, command line and output.
 * @param name The action.
 */
export async function describeCommand(
  context: CommandContext,
  name: string,
): Promise<void> {
  const description = await describe(context);
  const item = description.actions.find((action) => action.name === name);
  if (item === undefined) {
    throw new CliError(
      "UNKNOWN_ACTION",
      `No action named "${name}" on ${
        formatAddress(context.target)
      }; isock ls lists them.`,
      EXIT.remote,
    );
  }
  const data = template(item.input);
  if (context.line.json) {
    return context.io.write(
      `${printableJson(valueToJson({ ...item, template: data }), 2)}\n`,
    );
  }
  await context.io.write(describeText(item, data));
}

function describeText(item: ActionDescription, data: unknown): string {
  const lines = [
    `${printable(item.name)}: ${item.streams ? "streams its result" : "call"}${
      item.idempotent ? ", idempotent" : ""
    }`,
    `  input:  ${summarize(item.input)}${
      item.inputStream ? " (or an input stream)" : ""
    }`,
    `  output: ${summarize(item.output)}`,
  ];
  for (const side of ["input", "output"] as const) {
    const schema = item[side];
    lines.push("", `${side} schema:`);
    lines.push(
      schema === undefined
        ? "  (none: the action declares no schema, or its library writes no JSON Schema)"
        : printableJson(valueToJson(schema), 2),
    );
  }
  lines.push(
    "",
    `data template (edit it, then: isock call TARGET ${
      shellWord(item.name)
    } @file):`,
    printableJson(valueToJson(data), 2),
    "",
  );
  return lines.join("\n");
}

/** Asks for the description, explaining a server that does not answer. */
async function describe(context: CommandContext): Promise<ServiceDescription> {
  try {
    return await context.connection.describe(callOptions(context));
  } catch (error) {
    if (error instanceof RemoteError && error.code === "UNKNOWN_ACTION") {
      throw new CliError(
        "UNKNOWN_ACTION",
        `${
          formatAddress(context.target)
        } does not answer describe requests: it runs with reflection: false, or an isock from before reflection. isock call still works with the action's name.`,
        EXIT.remote,
      );
    }
    throw error;
  }
}

/**
 * `isock call`: runs the action and prints its result, or each item of a
 * streamed result, as one line of JSON.
 *
 * @param context The connection, command line and output.
 * @param name The action.
 * @param data The DATA argument, if any.
 */
export async function call(
  context: CommandContext,
  name: string,
  data: string | undefined,
): Promise<void> {
  const { io, line } = context;
  let inputError: unknown;
  let input: unknown;
  if (line.inputStream) {
    const items = ndjson(io.stdin());
    input = (async function* () {
      try {
        yield* items;
      } catch (error) {
        inputError = error;
        throw error;
      }
    })();
  } else {
    input = await readData(data, io);
  }
  try {
    // Always as a stream: a plain result arrives as a stream of one item,
    // so one call does for both kinds and never runs an action twice.
    for await (
      const item of context.connection.stream(
        name,
        input,
        callOptions(context),
      )
    ) {
      await io.write(`${printableJson(valueToJson(item))}\n`);
    }
  } catch (error) {
    throw inputError ?? error;
  }
  if (inputError !== undefined) throw inputError;
}

/**
 * `isock ping`: connects, then times `count` requests one after another.
 *
 * @param context The connection, command line and output.
 * @param sleep Waits between requests.
 */
export async function ping(
  context: CommandContext,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const { connection, io, line } = context;
  const count = line.count ?? 4;
  const interval = line.interval ?? 1000;
  const address = formatAddress(context.target);
  const connectStart = performance.now();
  await connection.connect();
  const connectMs = performance.now() - connectStart;
  const times: number[] = [];
  let lastError: unknown;
  if (!line.json) {
    await io.write(`PING ${address}: connected in ${ms(connectMs)} ms\n`);
  }
  for (let seq = 1; seq <= count; seq++) {
    if (seq > 1) await sleep(interval);
    const start = performance.now();
    try {
      await connection.runAction(
        PING_ACTION,
        undefined,
        callOptions(context),
      );
    } catch (error) {
      if (!(error instanceof RemoteError && error.code === "UNKNOWN_ACTION")) {
        lastError = error;
        if (!line.json) {
          const reason = error instanceof Error ? error.message : String(error);
          await io.write(
            `no reply from ${address}: seq=${seq} ${printable(reason)}\n`,
          );
        }
        continue;
      }
    }
    const time = performance.now() - start;
    times.push(time);
    if (!line.json) {
      await io.write(`reply from ${address}: seq=${seq} time=${ms(time)} ms\n`);
    }
  }
  // Folded, not spread: -c may ask for more pings than a call takes arguments.
  const min = times.reduce((least, time) => Math.min(least, time), Infinity);
  const max = times.reduce((most, time) => Math.max(most, time), -Infinity);
  const avg = times.reduce((sum, time) => sum + time, 0) / times.length;
  if (line.json) {
    await io.write(`${
      printableJson({
        target: address,
        connectMs: round(connectMs),
        sent: count,
        received: times.length,
        timesMs: times.map(round),
        ...(times.length > 0 &&
          { minMs: round(min), avgMs: round(avg), maxMs: round(max) }),
      })
    }\n`);
  } else {
    const lost = Math.round(100 * (count - times.length) / count);
    await io.write(
      `--- ${address} isock ping ---\n${count} requests, ${times.length} replies, ${lost}% lost\n` +
        (times.length > 0
          ? `round trip min/avg/max = ${ms(min)}/${ms(avg)}/${ms(max)} ms\n`
          : ""),
    );
  }
  if (lastError !== undefined) throw lastError;
}

function callOptions(context: CommandContext): CallOptions {
  const options: CallOptions = {};
  if (context.timeout > 0) options.timeout = context.timeout;
  if (context.line.metadata.length > 0) {
    options.metadata = context.line.metadata;
  }
  return options;
}

function ms(value: number): string {
  return value.toFixed(3);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
