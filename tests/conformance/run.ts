/**
 * Runs the conformance suite as a program, on any runtime:
 *
 *     deno run --allow-net --allow-read --allow-run tests/conformance/run.ts
 *     node --import tsx tests/conformance/run.ts   # tsx from tests/runtimes
 *     bun tests/conformance/run.ts
 *
 * It prints a line per case and "N passed, N failed", and exits non-zero on
 * a failure, an unhandled rejection or an uncaught exception. It never calls
 * `process.exit`: the program must end by itself once the cases are done,
 * which it does only when no socket or timer is left behind (tests/
 * runtimes_test.ts kills it after a while otherwise).
 *
 * @module
 */

import process from "node:process";
import { cases } from "./cases.ts";
import { describe, runCases } from "./runner.ts";
import { runtimeDescription } from "./runtime_name.ts";

const stray: unknown[] = [];
let isSummarized = false;
function onStray(kind: string, error: unknown): void {
  stray.push(error);
  console.log(`FAIL ${kind}: ${describe(error)}`);
  process.exitCode = 1;
  if (isSummarized) console.log(`FAIL after the summary: ${kind}`);
}

const deno = (globalThis as { Deno?: unknown }).Deno;
if (deno !== undefined) {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    onStray("unhandled rejection", event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    onStray("uncaught exception", event.error);
  });
} else {
  process.on(
    "unhandledRejection",
    (reason) => onStray("unhandled rejection", reason),
  );
  process.on(
    "uncaughtException",
    (error) => onStray("uncaught exception", error),
  );
}

console.log(`conformance on ${runtimeDescription()}`);
const { passed, failed } = await runCases(cases);
// Rejections nobody handled surface after a turn of the event loop.
await new Promise((resolve) => setTimeout(resolve, 100));
const failures = failed + stray.length;
console.log(`${passed} passed, ${failures} failed`);
isSummarized = true;
if (failures > 0) process.exitCode = 1;
