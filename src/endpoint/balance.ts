/**
 * How a client with several servers picks the one for a call: the
 * policies of its `balance` option, over the servers in the order given,
 * each either eligible now or not. Nothing here knows of connections.
 *
 * @module
 */

/** The names of the `balance` option's policies. */
export type BalanceName = "round-robin" | "first-healthy";

/** Picks a server for a call among those eligible now. */
export interface Balance {
  /**
   * Picks one of `count` servers.
   *
   * @param count How many servers there are, eligible or not.
   * @param isEligible Whether the server at this index may take the call.
   * @returns The index picked, or -1 when none is eligible.
   */
  pick(count: number, isEligible: (index: number) => boolean): number;
}

/**
 * Each call to the next eligible server after the one picked last, in
 * turn: a server out of rotation is skipped, and the others share its
 * calls evenly.
 *
 * @returns A round-robin policy, with its own turn.
 *
 * @example
 * ```ts
 * import { roundRobin } from "./balance.ts";
 * import assert from "node:assert/strict";
 *
 * const balance = roundRobin();
 * const all = () => true;
 * assert.deepStrictEqual([0, 1, 2, 3].map(() => balance.pick(3, all)), [0, 1, 2, 0]);
 * assert.equal(balance.pick(3, (index) => index !== 1), 2);
 * assert.equal(balance.pick(3, () => false), -1);
 * ```
 */
export function roundRobin(): Balance {
  let next = 0;
  return {
    pick(count, isEligible) {
      for (let step = 0; step < count; step++) {
        const index = (next + step) % count;
        if (isEligible(index)) {
          next = (index + 1) % count;
          return index;
        }
      }
      return -1;
    },
  };
}

/**
 * Every call to the first eligible server in the order given: the others
 * stand by, and take calls only while those before them are out.
 *
 * @returns A first-healthy policy.
 *
 * @example
 * ```ts
 * import { firstHealthy } from "./balance.ts";
 * import assert from "node:assert/strict";
 *
 * const balance = firstHealthy();
 * assert.equal(balance.pick(3, () => true), 0);
 * assert.equal(balance.pick(3, (index) => index > 0), 1);
 * assert.equal(balance.pick(3, () => false), -1);
 * ```
 */
export function firstHealthy(): Balance {
  return {
    pick(count, isEligible) {
      for (let index = 0; index < count; index++) {
        if (isEligible(index)) return index;
      }
      return -1;
    },
  };
}

/**
 * The policy named by a client's `balance` option.
 *
 * @param name The option's value.
 * @returns A new policy of that name.
 */
export function balanceNamed(name: BalanceName): Balance {
  return name === "first-healthy" ? firstHealthy() : roundRobin();
}
