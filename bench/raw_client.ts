/**
 * The loopback limit's client: writes the payload's bytes and reads until
 * as many have come back; no framing, no codec, one call at a time.
 * Started by bench/main.ts.
 *
 * @module
 */

import { HOSTNAME, runClientProcess } from "./child.ts";
import { readFull, writeAll } from "./conn_io.ts";

await runClientProcess("bytes", async ({ port }) => {
  const conn = await Deno.connect({ hostname: HOSTNAME, port });
  conn.setNoDelay(true);
  // One answer buffer per size, reused: the workloads check an answer
  // before the next call.
  const answers = new Map<number, Uint8Array>();
  return {
    echo: async (payload) => {
      const bytes = payload as Uint8Array;
      let answer = answers.get(bytes.byteLength);
      if (answer === undefined) {
        answer = new Uint8Array(bytes.byteLength);
        answers.set(bytes.byteLength, answer);
      }
      // Read while writing: the server echoes before the whole payload is in.
      await Promise.all([readFull(conn, answer), writeAll(conn, bytes)]);
      return answer;
    },
    close: () => conn.close(),
  };
});
