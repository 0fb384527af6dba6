/**
 * `node:net`, `node:tls` and `node:crypto`, loaded only on runtimes that
 * have them (Deno, Node, Bun): a browser never asks for them, so a bundle
 * of isock loads there, and its client speaks WebSocket.
 *
 * @module
 */

import type * as Crypto from "node:crypto";
import type * as Net from "node:net";
import type * as Tls from "node:tls";

/** Whether this runtime has Node's built-in modules: Deno, Node and Bun do; a browser does not. */
export const hasNodeBuiltins: boolean =
  typeof (globalThis as { Deno?: unknown }).Deno === "object" ||
  typeof (globalThis as { process?: { versions?: { node?: unknown } } })
      .process?.versions?.node === "string";

/** `node:net`; where there is none, a stand-in that throws on first use. */
export const net: typeof Net = hasNodeBuiltins
  ? await import("node:net")
  : missing("node:net");
/** `node:tls`; where there is none, a stand-in that throws on first use. */
export const tls: typeof Tls = hasNodeBuiltins
  ? await import("node:tls")
  : missing("node:tls");
/** `node:crypto`; where there is none, a stand-in that throws on first use. */
export const crypto: typeof Crypto = hasNodeBuiltins
  ? await import("node:crypto")
  : missing("node:crypto");

function missing<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get() {
      throw new TypeError(
        `${name} is not available on this runtime: TCP and TLS need Deno, Node or Bun; a browser client connects with { url: "ws://…" }.`,
      );
    },
  });
}
