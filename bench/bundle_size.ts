/**
 * How much isock weighs in a browser: `deno bundle --platform browser
 * --minify` of mod.ts and of bench/browser_entry.ts (`action`, `Client`
 * and the errors), gzipped.
 *
 * @module
 */

/** The gzipped sizes of the browser bundles, in bytes. */
export interface BundleSizes {
  /** The whole root entry, mod.ts. */
  readonly modGzipBytes: number;
  /** `action`, `Client` and the errors only. */
  readonly clientGzipBytes: number;
}

const ROOT = new URL("../", import.meta.url);

/** Bundles `entry` (relative to the project root) for the browser; its gzipped size. */
async function gzippedBundle(entry: string): Promise<number> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--minify", entry],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `deno bundle ${entry} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  const gzipped = new Blob([stdout]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(gzipped).arrayBuffer()).byteLength;
}

/**
 * Bundles and weighs both entries.
 *
 * @returns Their gzipped sizes.
 */
export async function measureBundles(): Promise<BundleSizes> {
  return {
    modGzipBytes: await gzippedBundle("mod.ts"),
    clientGzipBytes: await gzippedBundle("bench/browser_entry.ts"),
  };
}

/**
 * The bundle line of the report.
 *
 * @param sizes The sizes.
 * @returns One line.
 */
export function renderBundles(sizes: BundleSizes): string {
  const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
  return `browser bundle (deno bundle --platform browser --minify, gzipped): mod.ts ${
    kB(sizes.modGzipBytes)
  }; action, Client and the errors ${kB(sizes.clientGzipBytes)}`;
}
