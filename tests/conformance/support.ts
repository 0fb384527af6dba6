/**
 * What the conformance cases share: starting a server on a free loopback
 * port, reading the TLS fixtures, and small waits. Only the library,
 * node: built-ins and plain promises, so it runs on Deno, Node and Bun.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import type { Server } from "../../mod.ts";

/** The loopback address every case listens on. */
export const HOST = "127.0.0.1";

/**
 * Listens on a free loopback port and runs `body` with it; the server is
 * shut down afterwards whatever happens.
 *
 * @param server A server not yet listening.
 * @param body What to do while it serves.
 * @returns What `body` returned.
 */
export async function serving<T>(
  server: Server,
  body: (port: number) => Promise<T>,
): Promise<T> {
  const { port } = await server.listen();
  try {
    return await body(port);
  } finally {
    await server.shutdown({ timeout: 1_000 });
  }
}

/** The test certificate for localhost and 127.0.0.1 (tests/fixtures/tls), and its key. */
export async function tlsFixture(): Promise<{ cert: string; key: string }> {
  const read = (name: string) =>
    readFile(new URL(`../fixtures/tls/${name}`, import.meta.url), "utf8");
  const [cert, key] = await Promise.all([read("cert.pem"), read("key.pem")]);
  return { cert, key };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise and the functions that settle it (Promise.withResolvers is not in Node 20). */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Rejects with a clear message when `promise` has not settled within `ms`
 * (a generous bound: for things that happen at once on a working library).
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: not within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `condition()` holds, checking every 10 ms; rejects after `ms`. */
export async function until(
  condition: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

/** Rejects unless `promise` rejects with an error of `code`; returns that error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    const got = (error as { code?: unknown }).code;
    if (got !== code) {
      throw new Error(`expected an error with code ${code}, got ${got}`, {
        cause: error,
      });
    }
    return error as Error & { code: string };
  }
  throw new Error(`expected an error with code ${code}, but it resolved`);
}
