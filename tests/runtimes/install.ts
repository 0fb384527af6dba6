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

if (!await isInstalled()) {
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
    console.error(
      "npm ci in tests/runtimes failed: the Node and Bun tests need its tools " +
        "(tsx, bun from the npm registry).",
    );
    Deno.exit(1);
  }
}
