/**
 * `isock` on the command line: list a server's actions, describe one, call
 * it with JSON, stream its results as NDJSON, and ping the server.
 *
 * ```sh
 * deno run --allow-net jsr:@isock/isock/cli ls localhost:4000
 * deno run --allow-net jsr:@isock/isock/cli call localhost:4000 add '[1, 2]'
 * ```
 *
 * Permissions: `--allow-net` to connect; `--allow-read` for `@file` data,
 * `--ca` and `--secret-file`; `--allow-env=ISOCK_SECRET` to read the secret
 * from the environment. Nothing is asked for at import.
 *
 * @module
 */

import { Client, type ClientOptions } from "./client.ts";
import type { CliHost } from "./src/cli/run.ts";
import { run } from "./src/cli/run.ts";

export type { CliHost } from "./src/cli/run.ts";
export type { CliIo } from "./src/cli/io.ts";
export type { CliConnection } from "./src/cli/commands.ts";

/**
 * Runs `isock` with these arguments, as the `isock` command does.
 *
 * @example
 * ```ts
 * import { denoHost, main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const exitCode = await main(["ls"], {
 *   ...denoHost(),
 *   io: { ...denoHost().io, error: (line) => lines.push(line) },
 * });
 * assert.equal(exitCode, 2);
 * assert.match(lines[0], /^isock: USAGE: /);
 * ```
 *
 * @param args The arguments after the program's name.
 * @param host The process: output, files, environment, and how to make a
 * client. The default is this Deno process.
 * @returns The exit code (see `isock --help`).
 */
export function main(
  args: readonly string[],
  host: CliHost = denoHost(),
): Promise<number> {
  return run(args, host);
}

/**
 * This Deno process, as `isock` uses it.
 *
 * @returns The host.
 */
export function denoHost(): CliHost {
  const encoder = new TextEncoder();
  return {
    io: {
      async write(text) {
        const bytes = encoder.encode(text);
        let written = 0;
        while (written < bytes.length) {
          written += await Deno.stdout.write(bytes.subarray(written));
        }
      },
      error(line) {
        Deno.stderr.writeSync(encoder.encode(`${line}\n`));
      },
      stdin: () => Deno.stdin.readable,
      readTextFile: (path) => Deno.readTextFile(path),
      env(name) {
        // Asked, not prompted for: without --allow-env the variable is unset.
        const state =
          Deno.permissions.querySync({ name: "env", variable: name })
            .state;
        return state === "granted" ? Deno.env.get(name) : undefined;
      },
    },
    client: (options: ClientOptions) => new Client(options),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

if (import.meta.main) {
  if (typeof Deno === "undefined") {
    // Bun runs this file too: say so in one line, not a ReferenceError.
    console.error(
      "isock: USAGE: the isock command runs on Deno: deno run --allow-net jsr:@isock/isock/cli …",
    );
    const host = globalThis as { process?: { exitCode?: number } };
    if (host.process !== undefined) host.process.exitCode = 2;
  } else {
    Deno.exitCode = await main(Deno.args);
  }
}
