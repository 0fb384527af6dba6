/**
 * The README and the guides in docs/ as a reader meets them: every guide is
 * reachable from the README, every link lands on a file and a heading, the
 * Node form of the examples (the `js` blocks) runs as written on Node and
 * Bun, and the command lines the guides give for this repository run from
 * its root. (`deno test --doc` runs the `ts` and `js` blocks on Deno.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { Server } from "../mod.ts";
import { addExampleActions } from "../examples/actions.ts";
import { root } from "./processes.ts";
import { assertToolsInstalled, runToEnd } from "./runtime_processes.ts";

/** How long one block may take on a runtime, startup included. */
const RUN_TIMEOUT_MS = 60_000;

/** The Markdown files a reader is sent to, relative to the root. */
async function markdownFiles(): Promise<string[]> {
  const files = ["README.md", "PROTOCOL.md", "ARCHITECTURE.md", "CHANGELOG.md"];
  files.push("python/README.md");
  for await (const entry of Deno.readDir(`${root}docs`)) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      files.push(`docs/${entry.name}`);
    }
  }
  return files.sort();
}

interface Block {
  readonly file: string;
  readonly line: number;
  readonly info: string;
  readonly code: string;
}

/** The fenced code blocks of a Markdown text, with their info strings. */
function codeBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)```(\S.*)?$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i].trim() !== "```"; i++) {
      body.push(lines[i].slice(open[1].length));
    }
    blocks.push({
      file,
      line: start + 1,
      info: (open[2] ?? "").trim(),
      code: body.join("\n") + "\n",
    });
  }
  return blocks;
}

/** The text outside code blocks, line for line (code lines left empty). */
function prose(text: string): string {
  let isCode = false;
  return text.split("\n").map((line) => {
    if (/^\s*```/.test(line)) {
      isCode = !isCode;
      return "";
    }
    return isCode ? "" : line;
  }).join("\n");
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, "")
    .replaceAll(" ", "-");
}

/** The anchors of a Markdown text's headings. */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  for (const match of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    found.add(slug(match[1]));
  }
  return found;
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("docs: every guide in docs/ is linked from the README", async () => {
  const readme = prose(await Deno.readTextFile(`${root}README.md`));
  const guides = (await markdownFiles()).filter((file) =>
    file.startsWith("docs/")
  );
  assert.ok(guides.length >= 9, `the guides: ${guides}`);
  for (const guide of guides) {
    assert.ok(
      readme.includes(`](${guide})`) || readme.includes(`](${guide}#`),
      `README.md links to no part of ${guide}`,
    );
  }
});

Deno.test("docs: every relative link of the Markdown files reaches a file, and its #anchor a heading there", async () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of await markdownFiles()) {
    const text = prose(await Deno.readTextFile(`${root}${file}`));
    const folder = new URL(file, `file://${root}`);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      checked++;
      const [path, anchor] = target.split("#");
      const url = path ? new URL(path, folder) : folder;
      const where = decodeURIComponent(url.pathname);
      if (!(await exists(where))) {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor === undefined) continue;
      const linked = await readOrUndefined(where);
      if (linked === undefined || !anchors(linked).has(anchor)) {
        broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} links found`);
  assert.deepEqual(broken, []);
});

/** Every `js` block of the README and the guides: the Node form of an example. */
async function nodeBlocks(): Promise<Block[]> {
  const blocks: Block[] = [];
  for (const file of await markdownFiles()) {
    if (file !== "README.md" && !file.startsWith("docs/")) continue;
    const text = await Deno.readTextFile(`${root}${file}`);
    blocks.push(
      ...codeBlocks(file, text).filter((block) => block.info === "js"),
    );
  }
  return blocks;
}

/** The block with isock's specifiers pointed at this repository's sources. */
function onSources(code: string): string {
  return code.replace(
    /from "@isock\/isock(?:\/(\w+))?"/g,
    (_, entry = "mod") => `from ${JSON.stringify(`${root}${entry}.ts`)}`,
  );
}

/** The lines a block says it prints: `console.log(…); // "text"` prints `text`. */
function promisedLines(code: string): string[] {
  return [...code.matchAll(/console\.log\(.*\); \/\/ ("(?:[^"\\]|\\.)*")/g)]
    .map(([, literal]) => JSON.parse(literal));
}

for (const runtime of ["node", "bun"] as const) {
  Deno.test(`docs: the js blocks of the README and the guides run as written on ${runtime}, print what they say, and exit by themselves`, async () => {
    const blocks = await nodeBlocks();
    assert.ok(blocks.length >= 1, "no js block found");
    const folder = await Deno.makeTempDir({ prefix: "isock_docs_" });
    try {
      for (const block of blocks) {
        const where = `${block.file}:${block.line}`;
        assert.doesNotMatch(
          block.code,
          /\bawait using\b/,
          `${where}: plain Node.js 20 cannot parse \`await using\``,
        );
        const script = `${folder}/block_${block.line}.mjs`;
        await Deno.writeTextFile(script, onSources(block.code));
        const output = await runToEnd(
          runtime,
          new URL(`file://${script}`),
          [],
          RUN_TIMEOUT_MS,
        );
        assert.doesNotMatch(output, /--- stderr ---/, `${where}:\n${output}`);
        const printed = output.split("\n");
        for (const line of promisedLines(block.code)) {
          assert.ok(
            printed.includes(line),
            `${where} did not print ${JSON.stringify(line)}:\n${output}`,
          );
        }
      }
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  });
}

Deno.test("docs: the command lines docs/cli.md gives for this repository run from its root on Deno, Node and Bun", async () => {
  await assertToolsInstalled();
  const guide = await Deno.readTextFile(`${root}docs/cli.md`);
  const intro = guide.indexOf("In this repository, from its root");
  assert.ok(intro >= 0, "the repository's command lines in docs/cli.md");
  const block = codeBlocks("docs/cli.md", guide.slice(intro))[0];
  const lines = block.code.trim().split("\n");
  assert.equal(lines.length, 3, block.code);
  await using server = addExampleActions(new Server({ port: 0 }));
  const { port } = await server.listen();
  for (const line of lines) {
    assert.ok(line.includes("localhost:4440"), line);
    const [program, ...args] = line.replace("4440", String(port)).split(" ");
    const { code, stdout, stderr } = await new Deno.Command(
      program === "deno"
        ? Deno.execPath()
        : program.includes("/")
        ? `${root}${program}`
        : program,
      { args, cwd: root, stdin: "null", env: { NO_COLOR: "1" } },
    ).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, `${line}:\n${err}`);
    for (const name of ["echo", "exec", "execHistory", "time"]) {
      assert.match(out, new RegExp(`^${name}\\b`, "m"), `${line}:\n${out}`);
    }
  }
});

/** The server and client lines of the README's "examples on each runtime" block, in runtime order. */
async function exampleLines(): Promise<
  { servers: string[]; clients: string[] }
> {
  const readme = await Deno.readTextFile(`${root}README.md`);
  const section = readme.slice(
    readme.indexOf("### The examples on each runtime"),
  );
  const block = codeBlocks("README.md", section)[0];
  const lines = block.code.split("\n");
  return {
    servers: lines.filter((line) => line.includes("matrix_server.ts")),
    clients: lines.filter((line) => line.includes("matrix_client.ts PORT")),
  };
}

Deno.test("docs: the README's example server and client run as written on Deno, Node and Bun", async () => {
  await assertToolsInstalled();
  const { servers, clients } = await exampleLines();
  assert.equal(servers.length, 3, servers.join("\n"));
  assert.equal(clients.length, 3, clients.join("\n"));
  for (const [i, serverLine] of servers.entries()) {
    const server = new Deno.Command("sh", {
      args: ["-c", serverLine],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(server.stderr).text();
    const reader = server.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let status: Deno.CommandStatus;
    try {
      let printed = "";
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      let port: string | undefined;
      while (!port && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        printed += value;
        port = printed.match(/^listening on (\d+)/m)?.[1];
      }
      assert.ok(port, `${serverLine} printed no port:\n${printed}`);
      const { code, stdout, stderr: clientErr } = await new Deno.Command("sh", {
        args: ["-c", clients[i].replace("PORT", port)],
        cwd: root,
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.equal(
        code,
        0,
        `${clients[i]}:\n${out}\n${new TextDecoder().decode(clientErr)}`,
      );
      assert.match(out, /^matrix ok: /m, `${clients[i]}:\n${out}`);
    } finally {
      // Ctrl+D: the server shuts down and exits by itself.
      await server.stdin.close();
      const timer = setTimeout(() => server.kill("SIGKILL"), 15_000);
      status = await server.status;
      clearTimeout(timer);
      await reader.cancel();
    }
    assert.equal(status.code, 0, `${serverLine}:\n${await stderr}`);
  }
});
