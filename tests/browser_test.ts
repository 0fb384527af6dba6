/**
 * isock in a real browser: Debian's Chromium, headless, driven by
 * playwright-core from a Node script (tests/runtimes/drive_browser.mjs),
 * loads a page whose script imports the bundle of mod.ts
 * (`deno bundle --platform browser --minify mod.ts`) and calls a Deno
 * server over WebSocket. The page reports what it saw; this test asserts
 * on that and on what the server saw.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { action, Server, tracked } from "../mod.ts";
import { delay } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url);
const CHROMIUM = "/usr/bin/chromium";
const DRIVER = new URL("runtimes/drive_browser.mjs", import.meta.url);
/** The whole browser run: bundling, Chromium, every case. */
const RUN_LIMIT_MS = 150_000;

/** The page's server: the actions the cases call, and what it saw. */
function pageServer(seen: PageServerState, restart: () => void): Server {
  const server = new Server();
  let produced = 0;
  let endlessFinished = false;
  let slowAborts = 0;
  const confirm = action("confirm", (_: string) => 0);
  server.addAction(action("echo", (value: unknown) => value))
    .addAction(action("record", (value: unknown) => {
      seen.recorded.push(value);
    }))
    .addAction(action("fail", () => {
      throw Object.assign(new RangeError("too far"), { limit: 10 });
    }))
    .addAction(action(
      "typed",
      { input: z.object({ n: z.number() }) },
      ({ n }) => n * 2,
    ))
    .addAction(action("count", async function* (to: number) {
      for (let n = 1; n <= to; n++) {
        produced = n;
        yield n;
      }
    }))
    .addAction(action("produced", () => produced))
    .addAction(action("endless", async function* () {
      try {
        for (let n = 1;; n++) yield n;
      } finally {
        endlessFinished = true;
      }
    }))
    .addAction(action("endlessFinished", () => endlessFinished))
    .addAction(action("sum", async (numbers: AsyncIterable<number>) => {
      let total = 0;
      for await (const n of numbers) total += n;
      return total;
    }))
    .addAction(action("slow", async (_: unknown, { signal }) => {
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true })
      );
      slowAborts++;
    }))
    .addAction(action("slowAborts", () => slowAborts))
    .addAction(
      action(
        "ask",
        (question: string, context) =>
          context.peer.runAction(confirm, question),
      ),
    )
    .addAction(action("ticks", async function* (to: number, context) {
      const start = Number(context.lastEventId ?? 0) + 1;
      for (let n = start; n <= to; n++) {
        await delay(2);
        yield tracked(n, `tick ${n}`);
      }
    }))
    .addAction(action("restart", () => {
      seen.restarts++;
      setTimeout(restart, 20);
    }));
  return server;
}

interface PageServerState {
  recorded: unknown[];
  restarts: number;
}

/** The page, its script, the bundle and the isock endpoints, on one port. */
class PageSite implements AsyncDisposable {
  readonly seen: PageServerState = { recorded: [], restarts: 0 };
  readonly secretServer = new Server({ secret: "s3cret" });
  #main: Server;
  #http: Deno.HttpServer<Deno.NetAddr>;
  #restarting: Promise<void> | undefined;
  readonly #files: Record<string, string>;

  constructor(files: Record<string, string>) {
    this.#files = files;
    this.secretServer.addAction(action("echo", (value: unknown) => value));
    this.#main = pageServer(this.seen, () => this.restart());
    this.#http = this.#serve(0);
  }

  get port(): number {
    return this.#http.addr.port;
  }

  #serve(port: number): Deno.HttpServer<Deno.NetAddr> {
    return Deno.serve(
      { hostname: "127.0.0.1", port, onListen() {} },
      (request, info) => {
        const { pathname } = new URL(request.url);
        if (pathname === "/isock") return this.#main.upgrade(request, info);
        if (pathname === "/secret") {
          return this.secretServer.upgrade(request, info);
        }
        const file = this.#files[pathname];
        if (file === undefined) return new Response("no", { status: 404 });
        return new Response(file, {
          headers: {
            "content-type": pathname.endsWith(".js")
              ? "text/javascript"
              : "text/html",
          },
        });
      },
    );
  }

  /** Shuts the main server and its HTTP server down, and starts new ones on the same port. */
  restart(): Promise<void> {
    this.#restarting = (async () => {
      const port = this.port;
      await this.#main.shutdown({ timeout: 0 });
      await this.#http.shutdown();
      this.#main = pageServer(this.seen, () => this.restart());
      this.#http = this.#serve(port);
    })();
    return this.#restarting;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#restarting;
    await this.#main.shutdown({ timeout: 0 });
    await this.secretServer.shutdown({ timeout: 0 });
    await this.#http.shutdown();
  }
}

async function bundle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "isock_bundle_" });
  try {
    const output = `${dir}/isock.js`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "browser",
        "--minify",
        "mod.ts",
        "-o",
        output,
      ],
      cwd: new URL(ROOT).pathname,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the page in Chromium; what its cases saw, by name. */
async function runPage(
  url: string,
): Promise<{ results: Record<string, CaseResult>; pageErrors: string[] }> {
  const profile = await Deno.makeTempDir({ prefix: "isock_chromium_" });
  try {
    const child = new Deno.Command("node", {
      args: [new URL(DRIVER).pathname, url, profile, String(RUN_LIMIT_MS)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(
      () => child.kill("SIGKILL"),
      RUN_LIMIT_MS + 5_000,
    );
    const { code, stdout, stderr } = await child.output();
    clearTimeout(killer);
    const out = new TextDecoder().decode(stdout);
    assert.equal(
      code,
      0,
      `the browser run failed:\n${out}\n${new TextDecoder().decode(stderr)}`,
    );
    return JSON.parse(out.trim().split("\n").at(-1)!);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

interface CaseResult {
  value?: Record<string, unknown>;
  thrown?: Record<string, unknown>;
}

const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);

Deno.test({
  name:
    "browser: the bundle of mod.ts runs in Chromium; every client feature works over WebSocket",
  ignore: !hasChromium,
}, async (t) => {
  const files = {
    "/":
      `<!doctype html><meta charset="utf-8"><script type="module" src="/cases.js"></script>`,
    "/cases.js": await Deno.readTextFile(
      new URL("browser/cases.js", import.meta.url),
    ),
    "/isock.js": await bundle(),
  };
  await using site = new PageSite(files);
  const { results, pageErrors } = await runPage(
    `http://127.0.0.1:${site.port}/`,
  );
  assert.deepStrictEqual(pageErrors, []);
  assert.equal((results as { fatal?: string }).fatal, undefined);
  const value = (name: string) => {
    const result = results[name];
    assert.equal(
      result?.thrown,
      undefined,
      `${name} threw ${JSON.stringify(result?.thrown)}`,
    );
    return result.value!;
  };

  await t.step("rich data goes both ways", () => {
    assert.deepStrictEqual(value("rich"), { bigIsBigInt: true });
    assert.deepStrictEqual(site.seen.recorded, [{
      text: "héllo 🌍",
      big: 2n ** 70n,
      date: new Date(1_700_000_000_000),
      bytes: new Uint8Array([0, 1, 254, 255]),
      map: new Map<unknown, unknown>([[1, "one"], ["two", [2]]]),
      set: new Set([1, 2, 3]),
      nested: { list: [1.5, -3, null, true] },
    }]);
  });
  await t.step(
    "an error keeps its class, name, code and fields in the minified bundle",
    () => {
      assert.deepStrictEqual(value("error"), {
        name: "RemoteError",
        code: "ACTION_FAILED",
        isClientError: false,
        isRemoteError: true,
        remoteName: "RangeError",
        message: "too far",
        remoteFields: { limit: 10 },
      });
      assert.equal(value("invalidInput").code, "INVALID_INPUT");
    },
  );
  await t.step(
    "a 5,000-item stream arrives in order; a slow reader bounds the generator to its window",
    () => {
      const stream = value("stream");
      assert.equal(stream.consumed, 5_000);
      assert.equal(stream.inOrder, true);
      assert.ok(
        (stream.worst as number) <= (stream.window as number) + 1,
        `the generator ran ${stream.worst} items ahead`,
      );
    },
  );
  await t.step("break runs the generator's finally", () => {
    assert.deepStrictEqual(value("breakStream"), { finished: true });
  });
  await t.step("an upload", () => {
    assert.deepStrictEqual(value("upload"), { total: 2_001_000 });
  });
  await t.step("a timeout and an AbortController reach the handler", () => {
    const seen = value("timeoutAndAbort");
    assert.equal((seen.timedOut as { code: string }).code, "TIMEOUT");
    assert.equal((seen.timedOut as { name: string }).name, "ClientError");
    assert.equal((seen.aborted as { code: string }).code, "ABORTED");
    assert.equal(seen.handlerAborts, 2);
  });
  await t.step("the right secret passes, a wrong one is UNAUTHORIZED", () => {
    const seen = value("secret");
    assert.equal(seen.right, "in");
    assert.equal((seen.wrong as { code: string }).code, "UNAUTHORIZED");
  });
  await t.step("the server calls the page's action", () => {
    assert.deepStrictEqual(value("callback"), { answer: 5 });
  });
  await t.step("200 calls in flight", () => {
    assert.deepStrictEqual(value("inFlight"), { allMatch: true });
  });
  await t.step(
    "the server restarted on its port: a tracked stream resumes with no gap or duplicate, the next call succeeds",
    () => {
      const seen = value("restart");
      assert.equal(site.seen.restarts, 1);
      assert.deepStrictEqual(
        seen.seen,
        Array.from({ length: 120 }, (_, i) => `tick ${i + 1}`),
      );
      assert.equal(seen.after, "after");
    },
  );
  await t.step("sequential calls (W1) run", () => {
    const { callsPerSecond } = value("w1") as { callsPerSecond: number };
    console.log(`browser W1: ${callsPerSecond.toFixed(0)} calls/s`);
    assert.ok(callsPerSecond > 50, `${callsPerSecond} calls/s`);
  });
});
