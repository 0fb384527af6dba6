/**
 * Installs the pinned Node-side test tools (tsx, bun) with `npm ci` in
 * tests/runtimes, unless the versions in its package.json are already
 * there. `deno task test` runs it first; .ci/run runs `npm ci` itself.
 *
 *     deno run --allow-read --allow-run=npm tests/runtimes/install.ts
 *
 * @module
 */

const DIR = new URL("./", import.meta.url);

async function readJson(
  url: URL,
): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(url));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Whether every pinned tool is installed at its pinned version. */
async function isInstalled(): Promise<boolean> {
  const manifest = await readJson(new URL("package.json", DIR));
  const pins = (manifest?.devDependencies ?? {}) as Record<string, string>;
  for (const [name, version] of Object.entries(pins)) {
    const installed = await readJson(
      new URL(`node_modules/${name}/package.json`, DIR),
    );
    if (installed?.version !== version) return false;
  }
  return true;
}

/**
 * Installs the pinned tools with `npm ci` unless they are there.
 *
 * @example
 * ```ts ignore
 * import { ensureRuntimeTools } from "./install.ts";
 * await ensureRuntimeTools();
 * ```
 *
 * @returns Resolves once tsx and bun are installed.
 * @throws {Error} When npm fails.
 */
export async function ensureRuntimeTools(): Promise<void> {
  if (await isInstalled()) return;
  console.error(
    "Installing the Node-side test tools (tests/runtimes) with npm ci…",
  );
  const { success } = await new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund"],
    cwd: DIR,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success || !await isInstalled()) {
    throw new Error(
      "npm ci in tests/runtimes failed: the Node and Bun runs need its tools " +
        "(tsx, bun from the npm registry).",
    );
  }
}

/** The pinned tools' paths: tsx's loader (for `node --import`) and Bun's binary. */
export const RUNTIME_TOOLS = {
  dir: decodeURIComponent(DIR.pathname),
  tsxLoader: new URL("node_modules/tsx/dist/loader.mjs", DIR).href,
  bun: decodeURIComponent(new URL("node_modules/.bin/bun", DIR).pathname),
} as const;

if (import.meta.main) {
  try {
    await ensureRuntimeTools();
  } catch (error) {
    console.error((error as Error).message);
    Deno.exitCode = 1;
  }
}
