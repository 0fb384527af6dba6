/**
 * What the cross-runtime matrix's server offers and its clients call: the
 * classic example's actions, a stream, a two-way call, and the server's
 * runtime.
 *
 * @module
 */

import { action } from "../../mod.ts";

export { echo, exec, execHistory, time } from "./classic.ts";
export { confirm, remove } from "./two_way.ts";

/** Counts from 0 to `n - 1`, each with the server's clock. */
export const count = action("count", async function* (n: number) {
  for (let i = 0; i < n; i++) yield { i, at: new Date() };
});

/** The server's runtime and version. */
export const serverRuntime = action<undefined, string>("runtime");
