/**
 * Which runtime this is, for the conformance programs' output.
 *
 * @module
 */

import process from "node:process";

/** "deno", "bun" or "node". */
export function runtimeName(): "deno" | "bun" | "node" {
  if ((globalThis as { Deno?: unknown }).Deno !== undefined) return "deno";
  if ((globalThis as { Bun?: unknown }).Bun !== undefined) return "bun";
  return "node";
}

/** The runtime and its version: "deno 2.9.6", "node v20.20.2", "bun 1.4.4". */
export function runtimeDescription(): string {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  if (deno !== undefined) return `deno ${deno.version.deno}`;
  if (bun !== undefined) return `bun ${bun.version}`;
  return `node ${process.version}`;
}
