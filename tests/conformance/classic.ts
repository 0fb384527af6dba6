/**
 * The classic isock example on any runtime: echo, the server's clock, and
 * running a program on the server (here the runtime itself, `--version`,
 * through node:child_process on Node and Bun).
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import process from "node:process";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { HOST, serving } from "./support.ts";

export const echo = action("echo", (data: string) => data);
export const time = action("time", () => new Date());
export const exec = action<string[], string>("exec");
export const execHistory = action<undefined, string[][]>("execHistory");

/**
 * Runs a program and returns what it printed: node:child_process, except
 * on Deno, whose node:child_process also wants environment access.
 */
async function run(program: string, args: string[]): Promise<string> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno !== undefined) {
    const output = await new deno.Command(program, { args }).output();
    if (!output.success) {
      throw new Error(`${program} exited with ${output.code}`);
    }
    return new TextDecoder().decode(output.stdout);
  }
  return await new Promise<string>((resolve, reject) => {
    execFile(program, args, (error, stdout) => {
      if (error) reject(error);
      else resolve(String(stdout));
    });
  });
}

/** Adds the classic example's actions to `server`. */
export function addClassicActions(server: Server): Server {
  const history: string[][] = [];
  return server
    .addAction(echo)
    .addAction(time)
    .addAction(exec, ([program, ...args]) => {
      history.push([program, ...args]);
      return run(program, args);
    })
    .addAction(execHistory, () => history);
}

/** Runs the example's four actions against a server at `port` and checks the answers. */
export async function runClassicCalls(client: Client): Promise<void> {
  assert.equal(await client.runAction(echo, "Echo test!"), "Echo test!");
  const before = Date.now();
  const now = await client.runAction(time);
  assert.ok(now instanceof Date);
  assert.ok(Math.abs(now.getTime() - before) < 60_000, "the clocks agree");
  const version = await client.runAction(exec, [process.execPath, "--version"]);
  assert.match(version, /\d+\.\d+\.\d+/);
  assert.deepEqual(await client.runAction(execHistory), [
    [process.execPath, "--version"],
  ]);
  assert.equal(await client.runAction("echo", "by name"), "by name");
}

export const classicCases: Case[] = [{
  name: "classic example: echo, time, exec, exec history",
  run: () =>
    serving(
      addClassicActions(new Server({ hostname: HOST, port: 0 })),
      async (port) => {
        const client = new Client({ hostname: HOST, port, retry: 3 });
        try {
          await runClassicCalls(client);
        } finally {
          await client.close();
        }
      },
    ),
}];
