/**
 * `node:net`, `node:tls` and `node:crypto`, loaded on first use, only on
 * runtimes that have them (Deno, Node, Bun): nothing imports them when
 * the module graph loads, so the root entry has no top-level await (Node
 * can `require()` it), and a browser, which never dials TCP, never asks
 * for them: a bundle of isock loads there, and its client speaks
 * WebSocket.
 *
 * @module
 */

import type * as Crypto from "node:crypto";
import type * as Net from "node:net";
import type * as Tls from "node:tls";

/** The built-in modules TCP and TLS need. */
export interface NodeBuiltins {
  /** `node:net`. */
  readonly net: typeof Net;
  /** `node:tls`. */
  readonly tls: typeof Tls;
  /** `node:crypto`. */
  readonly crypto: typeof Crypto;
}

let loaded: NodeBuiltins | undefined;
let loading: Promise<NodeBuiltins> | undefined;

/**
 * The built-in modules, at once, when they can be had without waiting:
 * loaded before, or through `process.getBuiltinModule` (Deno, Bun, Node
 * 20.16 and later).
 *
 * @returns The modules; `undefined` in a browser, or before
 * {@linkcode loadNodeBuiltins} on a runtime without `getBuiltinModule`.
 */
export function nodeBuiltinsNow(): NodeBuiltins | undefined {
  if (loaded !== undefined) return loaded;
  const getBuiltinModule = (globalThis as {
    process?: { getBuiltinModule?: (name: string) => unknown };
  }).process?.getBuiltinModule;
  if (typeof getBuiltinModule !== "function") return undefined;
  loaded = {
    net: getBuiltinModule("node:net") as typeof Net,
    tls: getBuiltinModule("node:tls") as typeof Tls,
    crypto: getBuiltinModule("node:crypto") as typeof Crypto,
  };
  return loaded;
}

/**
 * The built-in modules, imported on the first call.
 *
 * @returns The modules.
 * @throws {TypeError} On a runtime without them: a browser.
 */
export function loadNodeBuiltins(): Promise<NodeBuiltins> {
  const now = nodeBuiltinsNow();
  if (now !== undefined) return Promise.resolve(now);
  loading ??= (async () => {
    if (!hasNodeBuiltins()) {
      throw new TypeError(
        `node:net is not available on this runtime: TCP and TLS need Deno, Node or Bun; a browser client connects with { url: "ws://…" }.`,
      );
    }
    const [net, tls, crypto] = await Promise.all([
      import("node:net"),
      import("node:tls"),
      import("node:crypto"),
    ]);
    loaded = { net, tls, crypto };
    return loaded;
  })();
  loading.catch(() => loading = undefined);
  return loading;
}

/** Whether this runtime has Node's built-in modules: Deno, Node and Bun do; a browser does not. */
function hasNodeBuiltins(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno === "object" ||
    typeof (globalThis as { process?: { versions?: { node?: unknown } } })
        .process?.versions?.node === "string";
}
