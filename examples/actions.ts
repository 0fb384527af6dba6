/**
 * The actions of the classic isock example, shared by the server and the
 * client: both import this file, so the client's calls are typed by the
 * server's actions.
 *
 * - `echo` sends back what it gets.
 * - `exec` runs a command on the server and returns what it printed.
 * - `execHistory` returns the commands `exec` ran (state shared by two actions).
 * - `time` returns the server's clock.
 *
 * @module
 */

import { action, type Server } from "@isock/isock";

export const echo = action("echo", (data: string) => data);

/** A command and its arguments, run without a shell. Its handler needs the server's history. */
export const exec = action<string[], string>("exec");

export const execHistory = action<undefined, string[][]>("execHistory");

export const time = action("time", () => new Date());

/** Adds the example's actions to `server`; `exec` and `execHistory` share one history. */
export function addExampleActions(server: Server): Server {
  const history: string[][] = [];
  return server
    .addAction(echo)
    .addAction(exec, async ([program, ...args]) => {
      history.push([program, ...args]);
      const output = await new Deno.Command(program, { args }).output();
      const decoder = new TextDecoder();
      if (!output.success) {
        throw new Error(
          `${program} exited with code ${output.code}: ${
            decoder.decode(output.stderr)
          }`,
        );
      }
      return decoder.decode(output.stdout);
    })
    .addAction(execHistory, () => history)
    .addAction(time);
}
