// The browser side of tests/browser_test.ts: runs in Chromium, importing
// the bundle of mod.ts (`deno bundle --platform browser --minify mod.ts`)
// from the server that serves the page. Each case returns what it saw;
// the Deno test asserts on it (and on what the server saw).
import { action, Client, ClientError, RemoteError } from "./isock.js";

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const base = `ws://${location.host}`;

function errorShape(error) {
  return {
    name: error?.name,
    code: error?.code,
    isClientError: error instanceof ClientError,
    isRemoteError: error instanceof RemoteError,
    remoteName: error?.remoteName,
    message: error?.message,
    remoteFields: error?.remoteFields,
  };
}

async function failure(promise) {
  try {
    await promise;
    return { resolved: true };
  } catch (error) {
    return errorShape(error);
  }
}

const cases = {
  async rich(client) {
    const value = {
      text: "héllo 🌍",
      big: 2n ** 70n,
      date: new Date(1_700_000_000_000),
      bytes: new Uint8Array([0, 1, 254, 255]),
      map: new Map([[1, "one"], ["two", [2]]]),
      set: new Set([1, 2, 3]),
      nested: { list: [1.5, -3, null, true] },
    };
    const echoed = await client.runAction("echo", value);
    // What came back goes to the server again: it checks both ways.
    await client.runAction("record", echoed);
    return { bigIsBigInt: typeof echoed.big === "bigint" };
  },
  async error(client) {
    return await failure(client.runAction("fail"));
  },
  async invalidInput(client) {
    return await failure(client.runAction("typed", { n: "no" }));
  },
  async stream(client) {
    const window = 16;
    let consumed = 0;
    let inOrder = true;
    let worst = 0;
    for await (const n of client.stream("count", 5_000, { window })) {
      consumed++;
      if (n !== consumed) inOrder = false;
      if (consumed <= 200) {
        // A slow reader: how far ahead is the server's generator?
        await delay(1);
        const produced = await client.runAction("produced");
        worst = Math.max(worst, produced - consumed);
      }
    }
    return { consumed, inOrder, worst, window };
  },
  async breakStream(client) {
    for await (const n of client.stream("endless")) if (n === 5) break;
    for (let i = 0; i < 300; i++) {
      if (await client.runAction("endlessFinished")) return { finished: true };
      await delay(10);
    }
    return { finished: false };
  },
  async upload(client) {
    async function* numbers() {
      for (let n = 1; n <= 2_000; n++) yield n;
    }
    return { total: await client.runAction("sum", numbers()) };
  },
  async timeoutAndAbort(client) {
    const timedOut = await failure(
      client.runAction("slow", undefined, { timeout: 100 }),
    );
    const controller = new AbortController();
    const call = client.runAction("slow", undefined, {
      signal: controller.signal,
    });
    await delay(50);
    controller.abort();
    const aborted = await failure(call);
    for (let i = 0; i < 300 && await client.runAction("slowAborts") < 2; i++) {
      await delay(10);
    }
    return {
      timedOut,
      aborted,
      handlerAborts: await client.runAction("slowAborts"),
    };
  },
  async secret() {
    const right = new Client({ url: `${base}/secret`, secret: "s3cret" });
    const wrong = new Client({
      url: `${base}/secret`,
      secret: "wrong",
      retry: 1,
    });
    try {
      return {
        right: await right.runAction("echo", "in"),
        wrong: await failure(wrong.runAction("echo", "in")),
      };
    } finally {
      await right.close();
      await wrong.close();
    }
  },
  async callback(client) {
    client.addAction(action("confirm", (question) => question.length));
    return { answer: await client.runAction("ask", "sure?") };
  },
  async inFlight(client) {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.runAction("echo", i)),
    );
    return { allMatch: answers.every((answer, i) => answer === i) };
  },
  async restart() {
    const client = new Client({
      url: `${base}/isock`,
      retry: 30,
      retryDelay: 50,
      maxRetryDelay: 200,
    });
    try {
      const seen = [];
      for await (const tick of client.stream("ticks", 120)) {
        seen.push(tick);
        if (seen.length === 40) await client.runAction("restart");
      }
      return { seen, after: await client.runAction("echo", "after") };
    } finally {
      await client.close();
    }
  },
  async w1(client) {
    const value = { id: 1, name: "hello", tags: ["a", "b"], ts: 1234567890 };
    const started = performance.now();
    let calls = 0;
    while (performance.now() - started < 1_000 && calls < 1_000_000) {
      await client.runAction("echo", value);
      calls++;
    }
    return { callsPerSecond: calls / ((performance.now() - started) / 1000) };
  },
};

/** Runs every case on one client; a case that throws reports its error. */
async function runAll() {
  const results = {};
  const client = new Client({ url: `${base}/isock` });
  try {
    for (const [name, run] of Object.entries(cases)) {
      try {
        results[name] = { value: await run(client) };
      } catch (error) {
        results[name] = { thrown: errorShape(error) };
      }
    }
  } finally {
    await client.close();
  }
  return results;
}

globalThis.isockResults = runAll().catch((error) => ({
  fatal: String(error?.stack ?? error),
}));
