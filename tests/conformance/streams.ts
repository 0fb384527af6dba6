/**
 * Streams both ways with flow control: a slow reader bounds the producer,
 * on the server's output and on the client's input, and ending a stream
 * early runs the generator's `finally` on the server.
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, Server } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { deferred, HOST, serving, sleep, within } from "./support.ts";

const WINDOW = 4;
const ITEMS = 60;
/** Items a producer could get ahead of its reader if nothing held it back. */
const UNBOUNDED = 10_000;
/** The size of an uploaded chunk: 16 of them fill the input's byte window. */
const CHUNK = 64 * 1024;

export const streamCases: Case[] = [{
  name: "streams: server to client, a slow reader bounds the producer",
  run: async () => {
    let produced = 0;
    const finished = deferred();
    const numbers = action("numbers", async function* () {
      try {
        for (let i = 0; i < UNBOUNDED; i++) {
          produced++;
          yield { i, at: new Date() };
        }
      } finally {
        finished.resolve();
      }
    });
    await serving(
      new Server({ hostname: HOST, port: 0 }).addAction(numbers),
      async (port) => {
        const client = new Client({ hostname: HOST, port });
        try {
          let consumed = 0;
          let maxAhead = 0;
          for await (
            const item of client.stream(numbers, undefined, { window: WINDOW })
          ) {
            assert.equal(item.i, consumed);
            assert.ok(item.at instanceof Date);
            consumed++;
            await sleep(2);
            maxAhead = Math.max(maxAhead, produced - consumed);
            if (consumed === ITEMS) break;
          }
          assert.ok(
            maxAhead <= 2 * WINDOW + 2,
            `the producer ran ${maxAhead} items ahead`,
          );
          await within(
            finished.promise,
            10_000,
            "the generator's finally after break",
          );
          assert.ok(produced < ITEMS + 2 * WINDOW + 3, `produced ${produced}`);
        } finally {
          await client.close();
        }
      },
    );
  },
}, {
  name:
    "streams: client to server, a slow handler bounds the client's producer",
  run: async () => {
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const sum = action("sum", async (items: AsyncIterable<Uint8Array>) => {
      let total = 0;
      for await (const chunk of items) {
        total += chunk.length;
        consumed++;
        maxAhead = Math.max(maxAhead, produced - consumed);
        await sleep(2);
      }
      return total;
    });
    async function* upload() {
      for (let i = 1; i <= ITEMS; i++) {
        produced++;
        yield new Uint8Array(CHUNK);
      }
    }
    await serving(
      new Server({ hostname: HOST, port: 0 }).addAction(sum),
      async (port) => {
        const client = new Client({ hostname: HOST, port });
        try {
          assert.equal(
            await client.runAction(sum, upload()),
            ITEMS * CHUNK,
          );
          assert.equal(consumed, ITEMS);
          // The input window between isock peers is 1,024 items and 1 MiB
          // (PROTOCOL.md, "Batches"): 16 of these chunks. A producer
          // nothing held back would be ITEMS ahead.
          assert.ok(
            maxAhead <= 16 + 4,
            `the client's producer ran ${maxAhead} items ahead`,
          );
        } finally {
          await client.close();
        }
      },
    );
  },
}];
