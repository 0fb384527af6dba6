/**
 * The orchestrator's side of a bench child process (see child.ts for the
 * other side): start it with a JSON config, read the lines it prints, and
 * stop it on every path, killing it if it does not exit in time.
 *
 * @module
 */

import type { ServerReady } from "./child.ts";
import { bundlePath } from "./node_scripts.ts";
import { RUNTIME_TOOLS } from "../tests/runtimes/install.ts";

/**
 * What runs a child's program: Deno; Node running a bundle (the peers);
 * Node running the TypeScript through tsx, module by module as JSR serves
 * it to Node users (isock on Node); Bun (isock on Bun). The last two need
 * tests/runtimes' tools (ensureRuntimeTools).
 */
export type Runtime = "deno" | "node" | "node-tsx" | "bun";

/** How to start a child. */
export interface ChildOptions {
  /**
   * Deno runs the program as it is; Node runs its bundle (see
   * node_scripts.ts) in bench/peers.
   *
   * @default {"deno"}
   */
  readonly runtime?: Runtime;
  /**
   * Connections the child holds at once: when the soft limit on open files
   * is too low for them and the child's other files, the child is started
   * through bash with it raised.
   *
   * @default {0}
   */
  readonly connections?: number;
  /** The one CPU the child may run on (with taskset); any if absent. */
  readonly cpu?: number;
}

/** How long a process may take to start and print its first line (the first run compiles). */
export const START_TIMEOUT_MS = 30_000;
/** Files a process has open besides its connections (runtime, pipes, modules). */
const OTHER_FILES = 256;
/** How long a process may take to exit once asked, in milliseconds. */
const EXIT_GRACE_MS = 5_000;
/** How much of a child's stderr to keep for error messages. */
const STDERR_KEEP_CHARS = 16 * 1024;

const PEERS_DIR = new URL("./peers/", import.meta.url);

/**
 * A running child: a Deno program with network access to 127.0.0.1 only,
 * or a Node one. Its stdin stays open until
 * {@linkcode BenchProcess.close}, which is how a server knows to stop.
 */
export class BenchProcess implements AsyncDisposable {
  /** Names the process in errors. */
  readonly name: string;
  /** Its process id, for reading /proc/<pid>/status. */
  readonly pid: number;
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<void>;
  #stdout = "";
  #stdoutRead = 0;
  #isStdoutDone = false;
  #stdoutChanged = Promise.withResolvers<void>();
  #stderr = "";
  #closing: Promise<void> | undefined;

  /**
   * @param name Names the process in errors.
   * @param script The program.
   * @param config Its only argument, as JSON.
   * @param options Its runtime and needs.
   * @throws {Error} When the hard limit on open files is too low for `connections`.
   */
  constructor(
    name: string,
    script: URL,
    config: unknown,
    { runtime = "deno", connections = 0, cpu }: ChildOptions = {},
  ) {
    this.name = name;
    const [program, ...args] = [
      ...(cpu === undefined ? [] : ["taskset", "--cpu-list", String(cpu)]),
      ...openFilesPrefix(connections, name),
      ...(runtime === "deno"
        ? [
          Deno.execPath(),
          "run",
          "--no-prompt",
          "--no-lock",
          "--allow-net=127.0.0.1",
          // The peers' npm packages, loaded on demand (bench/codecs.ts).
          `--allow-read=${new URL("node_modules", PEERS_DIR).pathname}`,
          script.href,
        ]
        : runtime === "node-tsx"
        ? ["node", "--import", RUNTIME_TOOLS.tsxLoader, path(script)]
        : runtime === "bun"
        ? [RUNTIME_TOOLS.bun, path(script)]
        : ["node", bundlePath(script)]),
      JSON.stringify(config),
    ];
    this.#child = new Deno.Command(program, {
      args,
      // Node programs find their packages from there (bench/node_child.ts).
      cwd: runtime === "node"
        ? PEERS_DIR
        : runtime === "deno"
        ? undefined
        : RUNTIME_TOOLS.dir,
      // Plain text in the error messages that quote its stderr.
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#output = Promise.all([this.#readStdout(), this.#readStderr()])
      .then(() => {});
  }

  /**
   * Waits for the next line the process prints.
   *
   * @param what What the line holds, for errors ("its port").
   * @param timeoutMs How long to wait.
   * @returns The line, without its newline.
   * @throws {Error} When the process exits first or the time is up.
   */
  async readLine(what: string, timeoutMs: number): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const newline = this.#stdout.indexOf("\n", this.#stdoutRead);
      if (newline >= 0) {
        const line = this.#stdout.slice(this.#stdoutRead, newline);
        this.#stdoutRead = newline + 1;
        return line;
      }
      if (this.#isStdoutDone) {
        await this.#output;
        throw this.#failure(`exited before printing ${what}`);
      }
      const left = deadline - performance.now();
      if (
        left <= 0 || !await settlesWithin(this.#stdoutChanged.promise, left)
      ) {
        throw this.#failure(`did not print ${what} within ${timeoutMs} ms`);
      }
    }
  }

  /**
   * Waits for the next line the process prints, and parses it.
   *
   * @param what What the line holds, for errors ("its port").
   * @param timeoutMs How long to wait.
   * @returns The line's JSON value.
   * @throws {Error} When the process exits first or the time is up.
   */
  async readJson<T>(what: string, timeoutMs: number): Promise<T> {
    return JSON.parse(await this.readLine(what, timeoutMs)) as T;
  }

  /**
   * Waits for a server process to say its port.
   *
   * @returns The port it listens on, on 127.0.0.1.
   * @throws {Error} When it exits first or takes more than {@linkcode START_TIMEOUT_MS}.
   */
  async readPort(): Promise<number> {
    return (await this.readJson<ServerReady>("its port", START_TIMEOUT_MS))
      .port;
  }

  /**
   * Closes the process's stdin and waits for it to exit, killing it if it
   * takes too long. Safe to call more than once.
   *
   * @returns Resolves once the process is gone.
   * @throws {Error} When it failed or had to be killed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Stops the process; failures were reported by an earlier close(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close().catch(() => {});
  }

  async #close(): Promise<void> {
    await this.#child.stdin.close().catch(() => {});
    const hasExited = await settlesWithin(this.#child.status, EXIT_GRACE_MS);
    if (!hasExited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // It exited just now.
      }
    }
    const status = await this.#child.status;
    await this.#output;
    if (!hasExited) {
      throw this.#failure(`did not exit within ${EXIT_GRACE_MS} ms; killed`);
    }
    if (!status.success) {
      throw this.#failure(`exited with code ${status.code}`);
    }
  }

  async #readStdout(): Promise<void> {
    const text = this.#child.stdout.pipeThrough(new TextDecoderStream());
    for await (const chunk of text) {
      this.#stdout += chunk;
      this.#signalStdout();
    }
    this.#isStdoutDone = true;
    this.#signalStdout();
  }

  #signalStdout(): void {
    const changed = this.#stdoutChanged;
    this.#stdoutChanged = Promise.withResolvers<void>();
    changed.resolve();
  }

  async #readStderr(): Promise<void> {
    const text = this.#child.stderr.pipeThrough(new TextDecoderStream());
    for await (const chunk of text) {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP_CHARS);
    }
  }

  #failure(what: string): Error {
    const stderr = this.#stderr.trim();
    return new Error(
      `The ${this.name} ${what}.${
        stderr === "" ? "" : `\n--- its stderr ---\n${stderr}`
      }`,
    );
  }
}

/**
 * The soft and hard limits on open files this process has, and so its
 * children, as bash's `ulimit` tells them (Deno lets a program read
 * /proc/self/limits only with every permission); undefined where bash
 * cannot say.
 */
function openFilesLimits(): { soft: number; hard: number } | undefined {
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command("bash", {
      args: ["-c", "ulimit -Sn; ulimit -Hn"],
      stdin: "null",
    }).outputSync();
  } catch {
    return undefined;
  }
  const [soft, hard] = new TextDecoder().decode(output.stdout).trim()
    .split("\n").map((value) =>
      value === "unlimited" ? Infinity : Number(value)
    );
  return output.success && soft > 0 && hard > 0 ? { soft, hard } : undefined;
}

/**
 * The start of a command line that raises the soft limit on open files
 * (through bash) if it is too low for `connections`; empty if not.
 */
function openFilesPrefix(connections: number, name: string): string[] {
  if (connections === 0) return [];
  const openFiles = connections + OTHER_FILES;
  const limits = openFilesLimits();
  if (limits === undefined || openFiles <= limits.soft) return [];
  if (openFiles > limits.hard) {
    throw new Error(
      `The ${name} needs ${openFiles} open files, but the hard limit is ${limits.hard}: raise it (ulimit -Hn, as root) and run again.`,
    );
  }
  return ["bash", "-c", `ulimit -Sn ${openFiles} && exec "$@"`, "bash"];
}

/** Whether `promise` settles within `ms` milliseconds. */
async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function path(url: URL): string {
  return decodeURIComponent(url.pathname);
}
