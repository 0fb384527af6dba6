/**
 * Which socket API this runtime offers: Deno's own (`Deno.listen`,
 * `Deno.connect`), or `node:net` (Node and Bun). Decided once, by looking
 * at the global object only: no permission is asked.
 *
 * @module
 */

/**
 * Whether Deno's own socket API is here. `false` on Node and Bun, and
 * wherever a `Deno` global is only a partial stand-in.
 */
export const hasDenoSockets: boolean = typeof (
      globalThis as { Deno?: { listen?: unknown; connect?: unknown } }
    ).Deno?.connect === "function" &&
  typeof (globalThis as { Deno?: { listen?: unknown } }).Deno?.listen ===
    "function";
