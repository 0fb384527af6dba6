/**
 * Checks the module graph of every entry point (ARCHITECTURE.md, "Rules"):
 * no import cycles, and imports that only look down the layers; and every
 * file under src/: none re-exports (`export … from`: each name is imported
 * from the file that defines it), and none is longer than
 * {@linkcode MAX_LINES} lines. Run by CI as `deno task check:architecture`.
 *
 * @module
 */

/** The layers, lowest first: a module may import from its own layer or a lower one. */
const LAYERS: readonly { readonly name: string; readonly prefix: string }[] = [
  { name: "base", prefix: "src/base/" },
  { name: "codec", prefix: "src/codec/" },
  { name: "wire", prefix: "src/wire/" },
  { name: "protocol", prefix: "src/protocol/" },
  { name: "dispatch", prefix: "src/dispatch/" },
  { name: "session", prefix: "src/session/" },
  { name: "endpoint", prefix: "src/endpoint/" },
  { name: "nats", prefix: "src/nats/" },
  { name: "otel", prefix: "src/otel/" },
  { name: "cli", prefix: "src/cli/" },
  { name: "entry points", prefix: "" },
];

/** The most lines a file under src/ may have. */
const MAX_LINES = 900;

/**
 * An `export … from` statement: `export * from`, `export * as x from`,
 * `export { a, b } from`, `export type { A } from` (over several lines too).
 */
const RE_EXPORT =
  /^[ \t]*export[ \t]+(?:type[ \t]+)?(?:\*(?:[ \t]+as[ \t]+[\w$]+)?|\{[^}]*\})[ \t\n]*from[ \t]*["']/m;

interface ModuleInfo {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

const root = new URL("../", import.meta.url);
const entryPoints = readExports();

function readExports(): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", root)),
  ) as { exports: Record<string, string> };
  return Object.values(config.exports);
}

/** Every .ts file under `folder` (relative to the root), depth first. */
async function* sourceFiles(folder: string): AsyncGenerator<string> {
  const entries = [];
  for await (const entry of Deno.readDir(new URL(folder, root))) {
    entries.push(entry);
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const entry of entries) {
    const path = `${folder}${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(`${path}/`);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

function relative(specifier: string): string | undefined {
  if (!specifier.startsWith(root.href)) return undefined;
  return specifier.slice(root.href.length);
}

function layerOf(path: string): number {
  const index = LAYERS.findIndex((layer) =>
    layer.prefix !== "" && path.startsWith(layer.prefix)
  );
  if (index !== -1) return index;
  if (path.startsWith("src/")) return -1;
  return LAYERS.length - 1;
}

async function moduleGraph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: ModuleInfo[];
  };
  const graph = new Map<string, string[]>();
  for (const module of info.modules) {
    const from = relative(module.specifier);
    if (from === undefined) continue;
    const imports = new Set<string>();
    for (const dependency of module.dependencies ?? []) {
      for (const target of [dependency.code, dependency.type]) {
        const to = target && relative(target.specifier);
        if (to !== undefined) imports.add(to);
      }
    }
    graph.set(from, [...imports]);
  }
  return graph;
}

/** Every cycle's modules, found with Tarjan's strongly connected components. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const problems: string[] = [];
const graph = new Map<string, string[]>();
for (const entry of entryPoints) {
  for (const [from, imports] of await moduleGraph(entry)) {
    graph.set(from, imports);
  }
}
for (const [from, imports] of graph) {
  const fromLayer = layerOf(from);
  if (fromLayer === -1) {
    problems.push(`${from} is under src/ but in no layer folder`);
    continue;
  }
  for (const to of imports) {
    const toLayer = layerOf(to);
    if (toLayer > fromLayer) {
      problems.push(
        `${from} (${LAYERS[fromLayer].name}) imports ${to} (${
          LAYERS[toLayer].name
        }): imports must look down`,
      );
    }
  }
}
for (const cycle of cycles(graph)) {
  problems.push(`import cycle: ${cycle.join(" → ")}`);
}
for await (const path of sourceFiles("src/")) {
  const text = await Deno.readTextFile(new URL(path, root));
  // Comments hold examples with imports of their own: not the file's code.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /^\s*\/\/.*$/gm,
    "",
  );
  const reExport = RE_EXPORT.exec(code);
  if (reExport !== null) {
    problems.push(
      `${path} re-exports (${
        reExport[0].trim().replace(/\s+/g, " ")
      }…): import each name from the file that defines it`,
    );
  }
  const lines = text.endsWith("\n")
    ? text.split("\n").length - 1
    : text.split("\n").length;
  if (lines > MAX_LINES) {
    problems.push(
      `${path} has ${lines} lines, more than ${MAX_LINES}: split it along its jobs`,
    );
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`\n${problems.length} architecture problem(s).`);
  Deno.exit(1);
}
console.log(
  `Architecture: ${graph.size} modules from ${entryPoints.length} entry point(s), no cycles, every import looks down; no file under src/ re-exports or has more than ${MAX_LINES} lines.`,
);
