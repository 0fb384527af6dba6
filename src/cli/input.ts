/**
 * The data `isock call` sends: JSON from the command line, a file
 * (`@file`) or stdin (`-`), or NDJSON from stdin as an input stream. JSON
 * becomes isock values through the JSON mapping (`{"$date": …}` and the
 * like).
 *
 * @module
 */

import { jsonToValue } from "../codec/json_read.ts";
import type { JsonValue } from "../codec/json_mapping.ts";
import { CliError, EXIT } from "./exit_codes.ts";
import type { CliIo } from "./io.ts";

/**
 * Reads the DATA argument: JSON text, `@file`, or `-` for stdin. None
 * means no data (`undefined`).
 *
 * @param data The argument, if any.
 * @param io Where files and stdin come from.
 * @returns The value to send.
 * @throws {CliError} `INVALID_JSON` or `UNREADABLE` (exit 3).
 */
export async function readData(
  data: string | undefined,
  io: CliIo,
): Promise<unknown> {
  if (data === undefined) return undefined;
  if (data === "-") {
    return parseJson(await new Response(io.stdin()).text(), "stdin");
  }
  if (data.startsWith("@")) {
    const path = data.slice(1);
    let text: string;
    try {
      text = await io.readTextFile(path);
    } catch (error) {
      throw unreadable(path, error);
    }
    return parseJson(text, path);
  }
  return parseJson(data, "DATA");
}

/**
 * Reads a file named on the command line (`--ca`, `--secret-file`).
 *
 * @param path The file.
 * @param io Where files come from.
 * @returns Its text.
 * @throws {CliError} `UNREADABLE` (exit 3).
 */
export async function readFile(path: string, io: CliIo): Promise<string> {
  try {
    return await io.readTextFile(path);
  } catch (error) {
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): CliError {
  const reason = error instanceof Error ? error.message : String(error);
  const hint = error instanceof Error && error.name === "NotCapable"
    ? " (run with --allow-read)"
    : "";
  return new CliError(
    "UNREADABLE",
    `Cannot read ${path}: ${reason}${hint}`,
    EXIT.input,
  );
}

/**
 * Parses JSON and maps it to an isock value.
 *
 * @param text The JSON.
 * @param where Where it came from, for the error.
 * @returns The value.
 * @throws {CliError} `INVALID_JSON` (exit 3).
 */
export function parseJson(text: string, where: string): unknown {
  let json: JsonValue;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      "INVALID_JSON",
      `${where} is not valid JSON: ${(error as Error).message}`,
      EXIT.input,
    );
  }
  try {
    return jsonToValue(json);
  } catch (error) {
    throw new CliError(
      "INVALID_JSON",
      `${where} cannot be read as isock values: ${(error as Error).message}`,
      EXIT.input,
    );
  }
}

/**
 * Reads NDJSON, one JSON value a line (blank lines skipped), as the values
 * arrive.
 *
 * @param input The bytes.
 * @returns The values; the loop throws {@linkcode CliError} at a line that
 * is not JSON.
 */
export async function* ndjson(
  input: ReadableStream<Uint8Array>,
): AsyncGenerator<unknown> {
  let buffered = "";
  let lineNumber = 0;
  for await (const chunk of input.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lineNumber++;
      if (line.trim() !== "") yield parseJson(line, `stdin line ${lineNumber}`);
    }
  }
  lineNumber++;
  if (buffered.trim() !== "") {
    yield parseJson(buffered, `stdin line ${lineNumber}`);
  }
}
