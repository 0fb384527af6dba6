/**
 * The conformance suite's runner: the same code on Deno, Node and Bun, with
 * no test framework (only what all three share). It runs the cases one at
 * a time, prints a line for each and a last line "N passed, N failed".
 *
 * @module
 */

/** One conformance case: a name and an async body that throws on failure. */
export interface Case {
  readonly name: string;
  readonly run: () => Promise<void>;
}

/** How many cases passed and failed. */
export interface Summary {
  passed: number;
  failed: number;
}

/** How long one case may take before it counts as failed, in milliseconds. */
export const CASE_TIMEOUT_MS = 20_000;

/**
 * Runs `cases` in order, printing `ok <name>` or `FAIL <name>` and the error.
 *
 * @example
 * ```ts
 * import { runCases } from "./runner.ts";
 * const summary = await runCases([{ name: "nothing", run: async () => {} }], () => {});
 * console.assert(summary.passed === 1);
 * ```
 *
 * @param cases The cases.
 * @param print Where the lines go.
 * @returns How many passed and failed.
 */
export async function runCases(
  cases: readonly Case[],
  print: (line: string) => void = console.log,
): Promise<Summary> {
  const summary: Summary = { passed: 0, failed: 0 };
  for (const { name, run } of cases) {
    const started = performance.now();
    try {
      await withTimeout(run(), CASE_TIMEOUT_MS, name);
      summary.passed++;
      print(`ok   ${name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      summary.failed++;
      print(`FAIL ${name}: ${describe(error)}`);
    }
  }
  return summary;
}

/** An error's stack (or the value), with its cause chain, for a failure line. */
export function describe(error: unknown): string {
  let text = error instanceof Error
    ? (error.stack ?? String(error))
    : String(error);
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    text += `\n  caused by: ${
      cause instanceof Error ? (cause.stack ?? cause) : String(cause)
    }`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

async function withTimeout(
  work: Promise<void>,
  ms: number,
  name: string,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name}: did not finish within ${ms} ms`)),
      ms,
    );
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
