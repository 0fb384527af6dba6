/**
 * How a client with several servers picks one: the `balance` policies
 * against a fake rotation, servers coming and going between picks.
 */

import assert from "node:assert/strict";
import {
  type Balance,
  balanceNamed,
  firstHealthy,
  roundRobin,
} from "../../src/endpoint/client_pool.ts";

/**
 * Picks `times` times from `count` servers, the eligible ones before each
 * pick given by `eligibleAt(pick)`; says which server each pick chose.
 */
function picks(
  balance: Balance,
  count: number,
  times: number,
  eligibleAt: (pick: number) => readonly number[] = () =>
    Array.from({ length: count }, (_, index) => index),
): number[] {
  return Array.from({ length: times }, (_, pick) => {
    const eligible = new Set(eligibleAt(pick));
    return balance.pick(count, (index) => eligible.has(index));
  });
}

const cases: {
  name: string;
  balance: () => Balance;
  count: number;
  eligibleAt?: (pick: number) => readonly number[];
  expected: number[];
}[] = [
  {
    name: "round robin takes each server in turn",
    balance: roundRobin,
    count: 3,
    expected: [0, 1, 2, 0, 1, 2],
  },
  {
    name:
      "round robin skips a server out of rotation, and the others share its turns",
    balance: roundRobin,
    count: 3,
    eligibleAt: () => [0, 2],
    expected: [0, 2, 0, 2],
  },
  {
    name: "round robin takes a server back in its turn",
    balance: roundRobin,
    count: 3,
    eligibleAt: (pick) => pick < 2 ? [0, 2] : [0, 1, 2],
    expected: [0, 2, 0, 1, 2, 0],
  },
  {
    name: "round robin with one server left sends it everything",
    balance: roundRobin,
    count: 3,
    eligibleAt: () => [1],
    expected: [1, 1, 1],
  },
  {
    name: "first-healthy sends everything to the first",
    balance: firstHealthy,
    count: 3,
    expected: [0, 0, 0],
  },
  {
    name: "first-healthy falls to the next while the first is out, and back",
    balance: firstHealthy,
    count: 3,
    eligibleAt: (pick) => pick === 1 || pick === 2 ? [1, 2] : [0, 1, 2],
    expected: [0, 1, 1, 0],
  },
  {
    name: "no server in rotation: -1",
    balance: roundRobin,
    count: 3,
    eligibleAt: () => [],
    expected: [-1, -1],
  },
  {
    name: "no server in rotation, first-healthy: -1",
    balance: firstHealthy,
    count: 2,
    eligibleAt: () => [],
    expected: [-1],
  },
];

for (const { name, balance, count, eligibleAt, expected } of cases) {
  Deno.test(`balance: ${name}`, () => {
    assert.deepStrictEqual(
      picks(balance(), count, expected.length, eligibleAt),
      expected,
    );
  });
}

Deno.test("balance: round robin spreads evenly while servers come and go", () => {
  const balance = roundRobin();
  const taken = [0, 0, 0, 0];
  for (let pick = 0; pick < 4_000; pick++) {
    // Server 3 is out for the middle half.
    const isOut = pick >= 1_000 && pick < 3_000;
    const index = balance.pick(4, (index) => !(isOut && index === 3));
    taken[index]++;
  }
  for (const index of [0, 1, 2]) {
    assert.ok(Math.abs(taken[index] - 1_166) <= 2, `${taken}`);
  }
  assert.equal(taken[3], 500);
});

Deno.test("balance: each policy by its option's name, round robin each with its own turn", () => {
  const all = () => true;
  assert.equal(balanceNamed("first-healthy").pick(3, all), 0);
  assert.equal(balanceNamed("first-healthy").pick(3, all), 0);
  const a = balanceNamed("round-robin");
  const b = balanceNamed("round-robin");
  assert.deepStrictEqual([a.pick(3, all), a.pick(3, all)], [0, 1]);
  assert.equal(b.pick(3, all), 0);
});
