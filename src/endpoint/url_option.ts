/**
 * The client's `url` option: a WebSocket server instead of a TCP one.
 *
 * @module
 */

import type { OptionError } from "./connection_options.ts";

/** Options that say where a TCP server is: a client with a `url` takes none. */
const NOT_WITH_URL = ["hostname", "port", "path", "tls", "endpoints"] as const;

/**
 * Reads the `url` option.
 *
 * @param options The client's options.
 * @param fail Makes the error of a bad option.
 * @returns The URL, or `undefined` when the option is not given.
 * @throws The error `fail` makes, for a URL that is not `ws:` or `wss:`,
 * or one given with a TCP option.
 */
export function readUrl(
  options: { readonly url?: unknown } & Record<string, unknown>,
  fail: OptionError,
): URL | undefined {
  const { url } = options;
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = typeof url === "string" || url instanceof URL
      ? new URL(url)
      : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== "ws:" && parsed.protocol !== "wss:")
  ) {
    throw fail(
      `Option url must be a ws: or wss: URL, such as "ws://127.0.0.1:8080/isock"; got ${
        typeof url === "string" ? JSON.stringify(url) : typeof url
      }.`,
    );
  }
  for (const name of NOT_WITH_URL) {
    if (options[name] !== undefined) {
      throw fail(
        `Options url and ${name} exclude each other: url is a WebSocket server, ${name} is for TCP.`,
      );
    }
  }
  return parsed;
}
