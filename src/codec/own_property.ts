/**
 * Decoded maps become plain objects whose keys are all own properties: a
 * key named `__proto__` is data, never the object's prototype.
 *
 * @module
 */

/**
 * Sets `object[key]` as an own, enumerable property, even for `__proto__`.
 *
 * @param object The object being built.
 * @param key The key.
 * @param value The value.
 *
 * @example
 * ```ts
 * import { setOwn } from "./own_property.ts";
 * import assert from "node:assert/strict";
 *
 * const object: Record<string, unknown> = {};
 * setOwn(object, "__proto__", { polluted: true });
 * assert.equal(Object.getPrototypeOf(object), Object.prototype);
 * assert.deepEqual(Object.keys(object), ["__proto__"]);
 * ```
 */
export function setOwn(
  object: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}
