/**
 * A TypeScript server for the Python package's tests, on Deno, Node or Bun.
 * It prints "listening on <port>" and shuts down when its stdin ends.
 *
 *     deno run --allow-net --allow-read --allow-write python/tests/ts/server.ts [--port N | --path P]
 *       [--secret S] [--tls] [--authenticate]
 *
 * With `--path` it listens on that Unix socket and prints "listening on P".
 * With `--authenticate` it takes the credentials "token-1" (identity
 * `{ user: "ada" }`) and refuses any other.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { action, Server, tracked } from "../../../mod.ts";

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}
const tlsDir = new URL("../../../tests/fixtures/tls/", import.meta.url);

class HttpError extends Error {
  override name = "HttpError";
  status = 404;
  detail = { path: "/missing" };
}

/** How many items `counted` has produced, for the flow-control tests. */
let produced = 0;
/** How many `waitAbort` calls saw their signal abort. */
let aborts = 0;
/** The `lastEventId` of each call of `events`, for the resume tests. */
const resumedFrom: unknown[] = [];

function describe(value: unknown): unknown {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (value instanceof Map) {
    return ["Map", [...value].map(([k, v]) => [describe(k), describe(v)])];
  }
  if (value instanceof Set) return ["Set", [...value].map(describe)];
  if (value instanceof Date) return ["Date", value.toISOString()];
  if (value instanceof Error) {
    // Own fields but the stack, which Bun keeps as an own property.
    const { stack: _stack, ...own } = value as Error & Record<string, unknown>;
    return ["Error", value.name, value.message, own];
  }
  if (value instanceof Uint8Array) return ["Uint8Array", [...value]];
  if (Array.isArray(value)) return ["Array", value.map(describe)];
  if (typeof value === "object") {
    return [
      "Object",
      Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, describe(v)]),
      ),
    ];
  }
  return [typeof value, typeof value === "bigint" ? String(value) : value];
}

const path = option("--path");
const server = new Server({
  ...(path === undefined
    ? { hostname: "127.0.0.1", port: Number(option("--port") ?? 0) }
    : { path }),
  secret: option("--secret"),
  authenticate: args.includes("--authenticate")
    ? (_peer, credentials) => credentials === "token-1" && { user: "ada" }
    : undefined,
  tls: args.includes("--tls")
    ? {
      cert: readFileSync(new URL("cert.pem", tlsDir), "utf8"),
      key: readFileSync(new URL("key.pem", tlsDir), "utf8"),
    }
    : undefined,
})
  .addAction(action("echo", (data: unknown) => data))
  .addAction(action("kinds", (data: unknown) => describe(data)))
  .addAction(action("rich", () => ({
    small: 5n,
    big: 2n ** 70n,
    negative: -(2n ** 64n),
    safe: 2 ** 53 - 1,
    fraction: 0.5,
    date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
    map: new Map<unknown, unknown>([[1, "one"], ["two", 2]]),
    set: new Set([1, 2, 3]),
    bytes: new Uint8Array([1, 2, 3]),
    undef: undefined,
    nil: null,
    error: Object.assign(new RangeError("out of range"), { limit: 3 }),
    list: [1, "a", true],
  })))
  .addAction(action("fail", (message: string) => {
    throw new HttpError(message);
  }))
  .addAction(action("count", async function* (n: number) {
    for (let i = 0; i < n; i++) yield i;
  }))
  .addAction(action("counted", async function* (n: number) {
    produced = 0;
    for (let i = 0; i < n; i++) {
      produced++;
      yield i;
    }
  }))
  .addAction(action("produced", () => produced))
  .addAction(action("sum", async (items: AsyncIterable<number>) => {
    let total = 0;
    for await (const item of items) total += item;
    return total;
  }))
  .addAction(
    action(
      "waitAbort",
      (_: unknown, context) =>
        new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve("not aborted"), 10_000);
          context.signal.addEventListener("abort", () => {
            aborts++;
            clearTimeout(timer);
            resolve("aborted");
          });
        }),
    ),
  )
  .addAction(action("aborts", () => aborts))
  .addAction(
    action(
      "sleep",
      (ms: number) =>
        new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
    ),
  )
  .addAction(
    action("metadata", (_: unknown, context) => context.metadata.toJSON()),
  )
  // Two-way calls: asks the calling client's own "confirm" action.
  .addAction(action("askPeer", async (question: string, context) => {
    const answer = await context.peer.runAction("confirm", question, {
      timeout: 5_000,
    });
    return { question, answer };
  }))
  // A tracked stream of 0 … n - 1 that goes on after `lastEventId`.
  .addAction(action("events", async function* (n: number, context) {
    resumedFrom.push(context.lastEventId ?? null);
    const last = context.lastEventId;
    for (let i = last === undefined ? 0 : Number(last) + 1; i < n; i++) {
      if (i % 64 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      yield tracked(i, i);
    }
  }))
  .addAction(action("resumedFrom", () => resumedFrom))
  .addAction(action("whoami", (_: unknown, context) => context.identity))
  .addAction(action("responseMeta", (data: string, context) => {
    context.responseMetadata.set("served-by", "typescript");
    return data;
  }));
const address = await server.listen();
console.log(`listening on ${path ?? address.port}`);

for await (const _ of process.stdin) {
  // Nothing is expected on stdin; its end stops the server.
}
await server.shutdown({ timeout: 2_000 });
console.log("stopped");
