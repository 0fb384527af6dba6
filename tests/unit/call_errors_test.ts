import assert from "node:assert/strict";
import {
  invalidTimeout,
  invalidWindow,
  timedOut,
} from "../../src/session/outgoing_calls.ts";

Deno.test("call errors: options out of range are INVALID_OPTIONS, in range none", () => {
  assert.equal(invalidTimeout(0), undefined);
  assert.equal(invalidTimeout(2 ** 31 - 1), undefined);
  for (const bad of [-1, 2 ** 31, NaN]) {
    assert.equal(invalidTimeout(bad)?.code, "INVALID_OPTIONS");
  }
  assert.equal(invalidWindow(1), undefined);
  for (const bad of [0, 1.5, NaN]) {
    assert.equal(invalidWindow(bad)?.code, "INVALID_OPTIONS");
  }
});

Deno.test("call errors: a deadline says how many stream items came first", () => {
  assert.match(timedOut("a", 5, 0).message, /"a" did not answer within 5 ms/);
  assert.match(timedOut("a", 5, 1).message, /after 1 item:/);
  assert.match(timedOut("a", 5, 2).message, /after 2 items:/);
  assert.equal(timedOut("a", 5, 0).code, "TIMEOUT");
});
