/**
 * The Node side of a bench child (see child.ts): Node's arguments and
 * standard input, and the peers' npm packages. bench/node_scripts.ts
 * bundles the Node programs, and {@linkcode BenchProcess} runs them with
 * `node` in bench/peers, so that their packages resolve from its
 * node_modules.
 *
 * @module
 */

import { createRequire } from "node:module";
import process from "node:process";
import type { ChildRuntime } from "./child.ts";

/** Node's side of {@linkcode ChildRuntime}. */
export const NODE_RUNTIME: ChildRuntime = {
  args: () => process.argv.slice(2),
  stdinEnd: () =>
    new Promise((resolve) => {
      process.stdin.once("end", resolve).once("error", resolve).resume();
    }),
};

/**
 * Loads an npm package from bench/peers/node_modules. A call at run time
 * rather than an import, so that type-checking the bench needs no install;
 * each program declares the little of the package's types it uses.
 */
export const requirePeer: (id: string) => unknown = createRequire(
  `${process.cwd()}/package.json`,
);
