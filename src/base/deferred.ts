/**
 * A promise with its resolve and reject at hand, like
 * `Promise.withResolvers()`, which Node 20 lacks.
 *
 * @module
 */

/** A promise and the functions that settle it. */
export interface Deferred<T> {
  /** The promise. */
  readonly promise: Promise<T>;
  /** Fulfils it. */
  readonly resolve: (value: T | PromiseLike<T>) => void;
  /** Rejects it. */
  readonly reject: (reason?: unknown) => void;
}

/**
 * Makes a promise that whoever holds the result settles.
 *
 * @returns The promise with its `resolve` and `reject`.
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
