/**
 * Per-call metadata (PROTOCOL.md, "Metadata"): string key/values that travel
 * with a request and with its answer, like HTTP headers. Keys are ASCII and
 * case-insensitive (kept in lowercase); the count and the total size are
 * bounded, so a peer cannot make the other side hold much for one call.
 *
 * @module
 */

import { ClientError } from "../base/errors.ts";
import { utf8Length } from "../codec/utf8.ts";
import { isRecord } from "./malformed.ts";

/** The most entries one call's metadata (each way) may hold. */
export const MAX_METADATA_ENTRIES = 64;
/** The most bytes (UTF-8 keys plus values) one call's metadata (each way) may hold. */
export const MAX_METADATA_SIZE = 8192;
/** The longest key, in characters. */
export const MAX_METADATA_KEY = 128;

/** What a key may hold once lowercased: HTTP-header-like tokens. */
const KEY = /^[a-z0-9._-]+$/;

/** What a {@linkcode Metadata} can be made from: a plain object, pairs, or another one. */
export type MetadataInit =
  | Metadata
  | Readonly<Record<string, string>>
  | Iterable<readonly [string, string]>;

/**
 * String key/values sent with a call or its answer. Keys are
 * case-insensitive: `get("X-Id")` finds what `set("x-id", …)` put; they
 * are stored and sent in lowercase. Keys are `[a-z0-9._-]` (ASCII letters
 * in any case), at most 128 characters; at most 64 entries and 8 KiB
 * (keys plus values, UTF-8) in all. Going over throws a
 * {@linkcode ClientError} `INVALID_METADATA`, and only that call fails.
 *
 * @example
 * ```ts
 * import { Metadata } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const metadata = new Metadata({ "X-Request-Id": "42" });
 * assert.equal(metadata.get("x-request-id"), "42");
 * metadata.set("Tenant", "acme");
 * assert.deepStrictEqual(metadata.toJSON(), { "x-request-id": "42", tenant: "acme" });
 * assert.throws(() => metadata.set("bad key", "x"), { code: "INVALID_METADATA" });
 * ```
 */
export class Metadata implements Iterable<[string, string]> {
  readonly #entries = new Map<string, string>();
  #size = 0;

  /**
   * Creates metadata, empty or from `init`.
   *
   * @param init Entries to start with.
   * @throws {ClientError} `INVALID_METADATA` for a bad key or value, or too much.
   */
  constructor(init?: MetadataInit) {
    if (init === undefined) return;
    const pairs = init instanceof Metadata || isIterable(init)
      ? init
      : isRecord(init)
      ? Object.entries(init)
      : invalid("metadata must be an object of strings");
    for (const [key, value] of pairs) this.set(key, value);
  }

  /** How many entries there are. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The value of `key` (any case).
   *
   * @param key The key.
   * @returns The value, or `undefined`.
   */
  get(key: string): string | undefined {
    return this.#entries.get(key.toLowerCase());
  }

  /**
   * Whether `key` (any case) is set.
   *
   * @param key The key.
   * @returns Whether it is.
   */
  has(key: string): boolean {
    return this.#entries.has(key.toLowerCase());
  }

  /**
   * Sets `key` (stored lowercase) to `value`, replacing what it held.
   *
   * @param key `[a-zA-Z0-9._-]`, 1 to 128 characters.
   * @param value A string.
   * @returns This metadata.
   * @throws {ClientError} `INVALID_METADATA` for a bad key or value, or too much.
   */
  set(key: string, value: string): this {
    if (typeof key !== "string") invalid("metadata keys must be strings");
    const lower = key.toLowerCase();
    if (lower.length > MAX_METADATA_KEY || !KEY.test(lower)) {
      invalid(
        `the metadata key ${
          JSON.stringify(key)
        } is not 1 to ${MAX_METADATA_KEY} characters of [a-zA-Z0-9._-]`,
      );
    }
    if (typeof value !== "string") {
      invalid(`the metadata value of "${lower}" must be a string`);
    }
    const old = this.#entries.get(lower);
    const size = this.#size + lower.length + utf8Length(value) -
      (old === undefined ? 0 : lower.length + utf8Length(old));
    if (old === undefined && this.#entries.size >= MAX_METADATA_ENTRIES) {
      invalid(`metadata holds at most ${MAX_METADATA_ENTRIES} entries`);
    }
    if (size > MAX_METADATA_SIZE) {
      invalid(
        `metadata holds at most ${MAX_METADATA_SIZE} bytes of keys and values`,
      );
    }
    this.#entries.set(lower, value);
    this.#size = size;
    return this;
  }

  /**
   * Removes `key` (any case).
   *
   * @param key The key.
   * @returns Whether it was set.
   */
  delete(key: string): boolean {
    const lower = key.toLowerCase();
    const old = this.#entries.get(lower);
    if (old === undefined) return false;
    this.#size -= lower.length + utf8Length(old);
    return this.#entries.delete(lower);
  }

  /** The entries, keys in lowercase, in the order they were set. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#entries.entries();
  }

  /**
   * The entries as a plain object (keys in lowercase): what goes on the wire.
   *
   * @returns A new object.
   */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.#entries);
  }
}

/**
 * The wire form of a call's metadata, checked: `undefined` when there is
 * none, so a call without metadata sends nothing more.
 *
 * @param init What the caller gave.
 * @returns The object to send, or `undefined`.
 * @throws {ClientError} `INVALID_METADATA` for bad or too much metadata.
 */
export function metadataToWire(
  init: MetadataInit | undefined,
): Record<string, string> | undefined {
  if (init === undefined) return undefined;
  const metadata = init instanceof Metadata ? init : new Metadata(init);
  return metadata.size === 0 ? undefined : metadata.toJSON();
}

/**
 * Reads metadata from the wire.
 *
 * @param value The `metadata` field the peer sent.
 * @returns The metadata, or the error that fails its call (never the connection).
 */
export function metadataFromWire(value: unknown): Metadata | ClientError {
  if (!isRecord(value)) {
    return new ClientError("INVALID_METADATA", "metadata must be a map");
  }
  try {
    return new Metadata(Object.entries(value) as [string, string][]);
  } catch (error) {
    return error as ClientError;
  }
}

function isIterable(value: unknown): value is Iterable<[string, string]> {
  return typeof value === "object" && value !== null &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

function invalid(reason: string): never {
  throw new ClientError("INVALID_METADATA", `Invalid metadata: ${reason}.`);
}
