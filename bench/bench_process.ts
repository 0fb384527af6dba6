/**
 * The orchestrator's side of a bench child process (see child.ts for the
 * other side): start it with a JSON config, read the lines it prints, and
 * stop it on every path, killing it if it does not exit in time.
 *
 * @module
 */

/** How long a process may take to exit once asked, in milliseconds. */
const EXIT_GRACE_MS = 5_000;
/** How much of a child's stderr to keep for error messages. */
const STDERR_KEEP_CHARS = 16 * 1024;

/**
 * A running child: a Deno program with network access to 127.0.0.1 only.
 * Its stdin stays open until {@linkcode BenchProcess.close}, which is how
 * a server knows to stop.
 */
export class BenchProcess implements AsyncDisposable {
  /** Names the process in errors. */
  readonly name: string;
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
   */
  constructor(name: string, script: URL, config: unknown) {
    this.name = name;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-lock",
        "--allow-net=127.0.0.1",
        // The peers' npm packages, loaded on demand (bench/codecs.ts).
        `--allow-read=${
          new URL("./peers/node_modules", import.meta.url).pathname
        }`,
        script.href,
        JSON.stringify(config),
      ],
      // Plain text in the error messages that quote its stderr.
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
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
