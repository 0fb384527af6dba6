/**
 * Programs run as users run them: `deno` in its own process, from the
 * project's root, with the permissions given.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The project's root folder. */
export const root = new URL("../", import.meta.url).pathname;

/** Runs `deno <args>` in the project root and returns its exit status and output. */
export async function deno(args: string[], stdin: "null" | "piped" = "null") {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Starts a long-running `deno <args>`; resolves once it printed its first line. */
export async function start(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = lines.getReader();
  const { value: firstLine = "" } = await reader.read();
  const rest = (async () => {
    let text = firstLine;
    for (
      let chunk = await reader.read();
      !chunk.done;
      chunk = await reader.read()
    ) text += chunk.value;
    return text;
  })();
  const stderr = new Response(child.stderr).text();
  return { child, firstLine, output: rest, stderr };
}

/** Starts examples/server.ts on a free port; resolves with it and the port it printed. */
export async function startExampleServer() {
  const server = await start([
    "run",
    "--allow-net",
    "--allow-run",
    "examples/server.ts",
    "0",
  ]);
  const port = server.firstLine.match(/127\.0\.0\.1:(\d+)/)?.[1];
  assert.ok(port, server.firstLine);
  return { server, port };
}
