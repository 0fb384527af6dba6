import assert from "node:assert/strict";
import { DeadlineQueue } from "../../src/base/deadline.ts";
import { seededRandom } from "../helpers.ts";

interface Item {
  readonly name: number;
  readonly time: number;
  queueIndex: number;
}

Deno.test("deadline queue: items expire in the order of their times, and deleted ones never", async () => {
  const random = seededRandom(7);
  const expired: Item[] = [];
  const queue = new DeadlineQueue<Item>((item) => expired.push(item));
  const now = Date.now();
  const items: Item[] = [];
  for (let name = 0; name < 500; name++) {
    // All in the past: the first timer takes them all, in order.
    const item = {
      name,
      time: now - Math.floor(random() * 1000),
      queueIndex: -1,
    };
    items.push(item);
    queue.add(item, item.time);
  }
  const deleted = new Set<Item>();
  for (const item of items) {
    if (random() < 0.3) {
      queue.delete(item);
      deleted.add(item);
      assert.equal(item.queueIndex, -1);
    }
  }
  queue.delete(items.find((item) => deleted.has(item))!); // twice: no effect
  assert.equal(queue.size, items.length - deleted.size);
  for (let i = 0; i < 100 && queue.size > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(queue.size, 0);
  assert.equal(expired.length, items.length - deleted.size);
  assert.ok(expired.every((item) => !deleted.has(item)));
  for (let i = 1; i < expired.length; i++) {
    assert.ok(expired[i - 1].time <= expired[i].time, `at ${i}`);
  }
});

Deno.test("deadline queue: an item added earlier than the armed time expires first; clear() forgets every item", async () => {
  const expired: string[] = [];
  const queue = new DeadlineQueue<{ name: string; queueIndex: number }>(
    (item) => expired.push(item.name),
  );
  const late = { name: "late", queueIndex: -1 };
  const early = { name: "early", queueIndex: -1 };
  const gone = { name: "gone", queueIndex: -1 };
  queue.add(late, Date.now() + 60);
  queue.add(gone, Date.now() + 30);
  queue.add(early, Date.now() + 10);
  queue.delete(gone);
  for (let i = 0; i < 200 && expired.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(expired, ["early", "late"]);
  queue.add({ name: "cleared", queueIndex: -1 }, Date.now() + 10);
  queue.clear();
  assert.equal(queue.size, 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(expired, ["early", "late"]);
});
