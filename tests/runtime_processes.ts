/**
 * Programs run on Deno, Node and Bun as users run them: Deno as it is, Node
 * through tsx (each module transpiled to a plain ES module, the shape JSR
 * serves Node users), Bun as it is. The Node-side tools are pinned in
 * tests/runtimes/package.json and installed by `npm ci` there (.ci/run, or
 * `deno task test`, which runs tests/runtimes/install.ts first).
 *
 * @module
 */

import assert from "node:assert/strict";

/** The runtimes isock runs on. */
export const RUNTIMES = ["deno", "node", "bun"] as const;
/** One of {@linkcode RUNTIMES}. */
export type Runtime = typeof RUNTIMES[number];

/** The project's root folder. */
export const ROOT = new URL("../", import.meta.url);
/** Where the Node-side tools are installed. */
export const TOOLS_DIR = new URL("./runtimes/", import.meta.url);
const BIN = new URL("node_modules/.bin/", TOOLS_DIR);

function path(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Fails with what to run when the Node-side tools are not installed. */
export async function assertToolsInstalled(): Promise<void> {
  for (const tool of ["tsx", "bun"]) {
    try {
      await Deno.stat(new URL(tool, BIN));
    } catch {
      throw new Error(
        `${tool} is not installed: run \`npm ci --prefix tests/runtimes\` ` +
          "(deno task test and .ci/run do it for you)",
      );
    }
  }
}

/**
 * The command that runs `script` (a .ts file in the project) on `runtime`.
 *
 * @param runtime Which runtime.
 * @param script The program.
 * @param args Its arguments.
 * @returns The program, its arguments, and the folder to run it in.
 */
export function runtimeCommand(
  runtime: Runtime,
  script: URL,
  args: readonly string[] = [],
): { program: string; args: string[]; cwd: string } {
  switch (runtime) {
    case "deno":
      return {
        program: Deno.execPath(),
        args: [
          "run",
          "--allow-net",
          "--allow-read",
          // Unix sockets: Deno checks their paths like files.
          "--allow-write",
          "--allow-run",
          path(script),
          ...args,
        ],
        cwd: path(ROOT),
      };
    case "node":
      // `--import tsx` resolves tsx from the working folder.
      return {
        program: "node",
        args: ["--import", "tsx", path(script), ...args],
        cwd: path(TOOLS_DIR),
      };
    case "bun":
      return {
        program: path(new URL("bun", BIN)),
        args: [path(script), ...args],
        cwd: path(TOOLS_DIR),
      };
  }
}

/** A program started on a runtime, its output collected as it comes. */
export class RuntimeProcess implements AsyncDisposable {
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<void>;
  #changed: () => void = () => {};
  readonly status: Promise<Deno.CommandStatus>;

  constructor(runtime: Runtime, script: URL, args: readonly string[] = []) {
    const command = runtimeCommand(runtime, script, args);
    this.name = `${script.pathname.split("/").pop()} on ${runtime}`;
    this.#child = new Deno.Command(command.program, {
      args: command.args,
      cwd: command.cwd,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.status = this.#child.status;
    this.#done = Promise.all([
      this.#collect(this.#child.stdout, (text) => this.#stdout += text),
      this.#collect(this.#child.stderr, (text) => this.#stderr += text),
    ]).then(() => {});
  }

  async #collect(
    stream: ReadableStream<Uint8Array>,
    add: (text: string) => void,
  ): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      add(text);
      this.#changed();
    }
  }

  /** Everything printed so far. */
  get output(): string {
    return this.#stdout +
      (this.#stderr ? `\n--- stderr ---\n${this.#stderr}` : "");
  }

  /**
   * Waits until stdout matches `pattern`, the process ends, or `timeoutMs` passes.
   *
   * @returns The match.
   * @throws {Error} With the output, when it did not appear.
   */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let hasEnded = false;
    this.status.finally(() => {
      hasEnded = true;
      this.#changed();
    });
    for (;;) {
      const match = this.#stdout.match(pattern);
      if (match) return match;
      const left = deadline - Date.now();
      if (hasEnded || left <= 0) {
        throw new Error(
          `${this.name} did not print ${pattern} ${
            hasEnded ? "before exiting" : `within ${timeoutMs} ms`
          }:\n${this.output}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#changed = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /**
   * Closes its stdin and waits for it to exit by itself, killing it after
   * `timeoutMs`.
   *
   * @returns Its exit code, and whether it had to be killed.
   */
  async finish(
    timeoutMs: number,
  ): Promise<{ code: number; wasKilled: boolean; output: string }> {
    await this.#stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wasKilled = false;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        wasKilled = true;
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // It exited meanwhile.
        }
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.status, killed]);
    const { code } = await this.status;
    clearTimeout(timer);
    await this.#done;
    return { code, wasKilled, output: this.output };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish(5_000);
  }
}

/**
 * Runs `script` on `runtime` to its end and asserts it exited 0 by itself
 * within `timeoutMs` (killed otherwise).
 *
 * @returns What it printed.
 */
export async function runToEnd(
  runtime: Runtime,
  script: URL,
  args: readonly string[],
  timeoutMs: number,
): Promise<string> {
  if (runtime !== "deno") await assertToolsInstalled();
  const child = new RuntimeProcess(runtime, script, args);
  const { code, wasKilled, output } = await child.finish(timeoutMs);
  assert.ok(
    !wasKilled,
    `${child.name} did not exit by itself within ${timeoutMs} ms (a socket or timer left behind?):\n${output}`,
  );
  assert.equal(code, 0, `${child.name} exited with ${code}:\n${output}`);
  return output;
}

/** The cross-runtime matrix's programs. */
export const MATRIX_SERVER = new URL(
  "./conformance/matrix_server.ts",
  import.meta.url,
);
export const MATRIX_CLIENT = new URL(
  "./conformance/matrix_client.ts",
  import.meta.url,
);

/** How long a program may take to start (the first run on Deno type-checks). */
export const START_TIMEOUT_MS = 60_000;

/** A matrix server running on a runtime, and its port. */
export interface MatrixServer {
  readonly runtime: Runtime;
  readonly process: RuntimeProcess;
  readonly port: number;
}

/**
 * Starts tests/conformance/matrix_server.ts on `runtime`.
 *
 * @returns Once it printed its port.
 */
export async function startMatrixServer(
  runtime: Runtime,
): Promise<MatrixServer> {
  if (runtime !== "deno") await assertToolsInstalled();
  const child = new RuntimeProcess(runtime, MATRIX_SERVER);
  try {
    const [, port] = await child.waitFor(
      /^listening on (\d+)/m,
      START_TIMEOUT_MS,
    );
    return { runtime, process: child, port: Number(port) };
  } catch (error) {
    await child.finish(1_000);
    throw error;
  }
}

/**
 * Stops a matrix server (its stdin ends) and asserts it shut down and
 * exited 0 by itself.
 */
export async function stopMatrixServer(server: MatrixServer): Promise<void> {
  const { code, wasKilled, output } = await server.process.finish(15_000);
  assert.ok(
    !wasKilled,
    `${server.process.name} did not exit by itself:\n${output}`,
  );
  assert.equal(
    code,
    0,
    `${server.process.name} exited with ${code}:\n${output}`,
  );
  assert.match(output, /^stopped$/m, output);
}
