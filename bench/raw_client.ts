/**
 * The loopback limit's client: writes the payload's bytes and reads until
 * as many have come back; no framing, no codec. Calls in flight at once
 * (W3×4) are written one after another and their answers read back in the
 * same order, as the server echoes bytes in order. Started by bench/main.ts.
 *
 * @module
 */

import { HOSTNAME, runClientProcess } from "./child.ts";
import { writeAll } from "./conn_io.ts";

/** Answer buffers per size; many more than calls in flight (4 at most). */
const RING_SIZE = 16;

/** A call waiting for its answer's bytes. */
interface Waiting {
  readonly answer: Uint8Array;
  filled: number;
  readonly done: PromiseWithResolvers<Uint8Array>;
}

await runClientProcess("bytes", async ({ port }) => {
  const conn = await Deno.connect({ hostname: HOSTNAME, port });
  conn.setNoDelay(true);
  // Answer buffers per size, taken in turn: the workloads check an answer
  // before the lane's next call, and no more than a few calls are in
  // flight, so a buffer is long checked when its turn comes again.
  const rings = new Map<number, { buffers: Uint8Array[]; next: number }>();
  const waiting: Waiting[] = [];
  let writing: Promise<void> = Promise.resolve();
  let reading: Promise<void> | undefined;
  // Reads into the oldest call's answer while any call waits: one read
  // under way at a time, as the limit's one-at-a-time echo had.
  const read = async () => {
    try {
      while (waiting.length > 0) {
        const head = waiting[0];
        const count = await conn.read(head.answer.subarray(head.filled));
        if (count === null) {
          throw new Error("The server closed the connection.");
        }
        head.filled += count;
        if (head.filled === head.answer.byteLength) {
          waiting.shift();
          head.done.resolve(head.answer);
        }
      }
    } catch (error) {
      for (const call of waiting.splice(0)) call.done.reject(error);
    } finally {
      reading = undefined;
    }
  };
  return {
    echo: async (payload) => {
      const bytes = payload as Uint8Array;
      const size = bytes.byteLength;
      let ring = rings.get(size);
      if (ring === undefined) rings.set(size, ring = { buffers: [], next: 0 });
      const answer = ring.buffers[ring.next] ??= new Uint8Array(size);
      ring.next = (ring.next + 1) % RING_SIZE;
      const call: Waiting = {
        answer,
        filled: 0,
        done: Promise.withResolvers<Uint8Array>(),
      };
      waiting.push(call);
      reading ??= read();
      // Each call's bytes go out whole, after those of the calls before it.
      writing = writing.then(() => writeAll(conn, bytes));
      await writing;
      return await call.done.promise;
    },
    close: () => conn.close(),
  };
});
