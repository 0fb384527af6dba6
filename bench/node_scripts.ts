/**
 * The Node peers' programs are TypeScript in bench/ like the Deno ones, so
 * that they share child.ts and workloads.ts; Node 20 runs no TypeScript,
 * so before a run the bench bundles them with `deno bundle` into
 * bench/peers/node_modules/.cache/isock-bench/ (rebuilt every run, and
 * gone with node_modules).
 *
 * @module
 */

const OUT_DIR = new URL(
  "./peers/node_modules/.cache/isock-bench/",
  import.meta.url,
);

/**
 * Where a program's bundle is.
 *
 * @param script The program, a .ts file in bench/.
 * @returns The path of its bundle.
 */
export function bundlePath(script: URL): string {
  const name = script.pathname.slice(script.pathname.lastIndexOf("/") + 1);
  return path(new URL(name.replace(/\.ts$/, ".js"), OUT_DIR));
}

/**
 * Bundles the programs for Node, each into one ES module with its npm
 * packages left to load at run time (see node_child.ts).
 *
 * @param scripts The programs, .ts files in bench/.
 * @returns Resolves once the bundles are written.
 * @throws {Error} When bundling fails, with its output.
 */
export async function bundleNodeScripts(
  scripts: readonly URL[],
): Promise<void> {
  await Deno.mkdir(OUT_DIR, { recursive: true });
  // The bundles are ES modules; bench/peers/package.json says nothing.
  await Deno.writeTextFile(
    new URL("package.json", OUT_DIR),
    '{ "type": "module" }\n',
  );
  const { success, stdout, stderr } = await new Deno.Command(
    Deno.execPath(),
    {
      args: [
        "bundle",
        "--quiet",
        "--no-lock",
        "--platform=deno",
        "--outdir",
        path(OUT_DIR),
        ...scripts.map(path),
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
    },
  ).output();
  const missing = scripts.find((script) => !existsSync(bundlePath(script)));
  if (!success || missing !== undefined) {
    const decoder = new TextDecoder();
    throw new Error(
      `deno bundle of the Node peers failed:\n${decoder.decode(stdout)}${
        decoder.decode(stderr)
      }`,
    );
  }
}

function path(url: URL): string {
  return decodeURIComponent(url.pathname);
}

function existsSync(file: string): boolean {
  try {
    Deno.statSync(file);
    return true;
  } catch {
    return false;
  }
}
