/**
 * The bench's third-party peers (msgpackr, @msgpack/msgpack, and the
 * Node peers' gRPC, JSON-RPC and capnweb packages) live in bench/peers
 * with their own package.json and lock, apart from the library, and are
 * installed with npm on the first run.
 *
 * @module
 */

const PEERS_DIR = new URL("./peers/", import.meta.url);
/** The files the benches import; any one missing means "not installed". */
const ENTRIES = [
  new URL("node_modules/msgpackr/index.js", PEERS_DIR),
  new URL("node_modules/@msgpack/msgpack/dist.esm/index.mjs", PEERS_DIR),
  // The Node peers' packages (bench/node_child.ts loads them).
  ...["@grpc/grpc-js", "@grpc/proto-loader", "jayson", "capnweb", "ws"].map(
    (name) => new URL(`node_modules/${name}/package.json`, PEERS_DIR),
  ),
];

/**
 * Installs bench/peers with npm unless already installed: `npm ci` from
 * the lock, or `npm install` when there is none. Optional packages (native
 * add-ons for Node) and install scripts are skipped; every package the
 * bench loads is plain JavaScript.
 *
 * @returns Resolves once the peers are there.
 * @throws {Error} When npm fails, with its output.
 */
export async function ensurePeers(): Promise<void> {
  if (await isInstalled()) return;
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
  if (!success || !await isInstalled()) {
    const decoder = new TextDecoder();
    throw new Error(
      `npm ${command} in bench/peers failed:\n${decoder.decode(stdout)}${
        decoder.decode(stderr)
      }`,
    );
  }
}

async function isInstalled(): Promise<boolean> {
  for (const entry of ENTRIES) {
    if (!await exists(entry)) return false;
  }
  return true;
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
