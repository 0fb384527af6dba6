/**
 * The Python interpreter of the virtual environment that holds the Python
 * package (python/), for the tests that run Python peers. `.ci/run` makes it
 * at `python/.venv` (`pip install ./python`); when it is missing, the first
 * test that needs it makes it the same way, and fails with pip's output when
 * it cannot.
 *
 * @module
 */

import { root } from "./processes.ts";

const VENV = `${root}python/.venv`;
let ready: Promise<string> | undefined;

async function run(program: string, args: string[]): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const decoder = new TextDecoder();
    throw new Error(
      `${program} ${args.join(" ")} exited with ${code}:\n${
        decoder.decode(stdout)
      }${decoder.decode(stderr)}`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The venv's python, with the package installed (made at most once per test run). */
export function pythonInterpreter(): Promise<string> {
  ready ??= (async () => {
    const python = `${VENV}/bin/python`;
    if (!(await exists(python))) {
      await run("python3", ["-m", "venv", VENV]);
      await run(python, ["-m", "pip", "install", "--quiet", "./python"]);
    }
    await run(python, ["-c", "import isock, isock.aio"]);
    return python;
  })();
  return ready;
}

/** A Python program that printed `listening on <port>` (or `<path>`). */
export interface PythonProcess extends AsyncDisposable {
  readonly port: number;
  /** The Unix socket path it listens on, when started with `--path`. */
  readonly path: string | undefined;
  /** Everything it printed so far. */
  output(): string;
}

/**
 * Starts `python/tests/py_server.py` with `args`; resolves once it printed
 * its port. Disposing it ends its stdin (it shuts down) and waits for it.
 */
export async function startPythonServer(
  args: string[] = [],
): Promise<PythonProcess> {
  const python = await pythonInterpreter();
  const child = new Deno.Command(python, {
    args: ["python/tests/py_server.py", ...args],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let port = 0;
  let path: string | undefined;
  const deadline = Date.now() + 30_000;
  while (!port && path === undefined && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const where = text.match(/^listening on (\S+)\n/m)?.[1];
    if (where !== undefined && /^\d+$/.test(where)) port = Number(where);
    else if (where !== undefined) path = where;
  }
  const rest = (async () => {
    for (
      let chunk = await reader.read();
      !chunk.done;
      chunk = await reader.read()
    ) {
      text += chunk.value;
    }
  })();
  const stop = async () => {
    await child.stdin.close().catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await child.status;
    clearTimeout(timer);
    await rest;
    await stderr;
  };
  if (!port && path === undefined) {
    await stop();
    throw new Error(`py_server.py did not start:\n${text}\n${await stderr}`);
  }
  return {
    port,
    path,
    output: () => text,
    [Symbol.asyncDispose]: stop,
  };
}
