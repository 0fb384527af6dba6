/**
 * `isock` on the command line: list a server's actions, describe one, call
 * it with JSON, stream its results as NDJSON, and ping the server.
 *
 * ```sh
 * deno run --allow-net jsr:@isock/isock/cli ls localhost:4000
 * deno run --allow-net jsr:@isock/isock/cli call localhost:4000 add '[1, 2]'
 * ```
 *
 * On Node.js and Bun it runs the same way from the installed package, e.g.
 * `node node_modules/@isock/isock/cli.js ls localhost:4000` or
 * `bun node_modules/@isock/isock/cli.ts ls localhost:4000`.
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

/**
 * This Node.js (or Bun) process, as `isock` uses it. Node's modules load
 * only when this is called, so Deno users never load them.
 *
 * @example
 * ```ts
 * import { nodeHost } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * const host = await nodeHost();
 * assert.equal(typeof host.io.write, "function");
 * ```
 *
 * @returns The host.
 */
export async function nodeHost(): Promise<CliHost> {
  const { default: process } = await import("node:process");
  const { readFile } = await import("node:fs/promises");
  const { Readable } = await import("node:stream");
  return {
    io: {
      write: (text) =>
        new Promise<void>((resolve, reject) => {
          process.stdout.write(
            text,
            (error) => error ? reject(error) : resolve(),
          );
        }),
      error(line) {
        process.stderr.write(`${line}\n`);
      },
      stdin: () =>
        Readable.toWeb(process.stdin) as unknown as ReadableStream<Uint8Array>,
      readTextFile: (path) => readFile(path, "utf8"),
      env: (name) => process.env[name],
    },
    client: (options: ClientOptions) => new Client(options),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Whether this module is the program Node started (Node 20 has no `import.meta.main`). */
async function isNodeMain(): Promise<boolean> {
  const { default: process } = await import("node:process");
  const { pathToFileURL } = await import("node:url");
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(script).href === import.meta.url;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
if (isDeno ? import.meta.main : (import.meta.main ?? await isNodeMain())) {
  if (isDeno) {
    Deno.exitCode = await main(Deno.args);
  } else {
    const { default: process } = await import("node:process");
    process.exitCode = await main(process.argv.slice(2), await nodeHost());
  }
}
