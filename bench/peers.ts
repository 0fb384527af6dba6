/**
 * The bench's third-party peers (msgpackr) live in bench/peers with their
 * own package.json and lock, apart from the library, and are installed
 * with npm on the first run.
 *
 * @module
 */

const PEERS_DIR = new URL("./peers/", import.meta.url);
/** The file the baseline imports; its absence means "not installed". */
const ENTRY = new URL("node_modules/msgpackr/index.js", PEERS_DIR);

/**
 * Installs bench/peers with npm unless already installed: `npm ci` from
 * the lock, or `npm install` when there is none. Optional packages (native
 * add-ons for Node) and install scripts are skipped; the bench imports
 * plain ESM only.
 *
 * @returns Resolves once the peers are there.
 * @throws {Error} When npm fails, with its output.
 */
export async function ensurePeers(): Promise<void> {
  if (await exists(ENTRY)) return;
  const hasLock = await exists(new URL("package-lock.json", PEERS_DIR));
  const command = hasLock ? "ci" : "install";
  console.error(`Installing bench/peers with npm ${command}…`);
  const { success, stdout, stderr } = await new Deno.Command("npm", {
    args: [
      command,
      "--prefix",
      decodeURIComponent(PEERS_DIR.pathname),
      "--omit=optional",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
    ],
    stdin: "null",
  }).output();
  if (!success || !await exists(ENTRY)) {
    const decoder = new TextDecoder();
    throw new Error(
      `npm ${command} in bench/peers failed:\n${decoder.decode(stdout)}${
        decoder.decode(stderr)
      }`,
    );
  }
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
