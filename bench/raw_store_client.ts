/**
 * The store-and-forward limit's client: writes a 4-byte length and the
 * payload's bytes, then reads as many back, which the server writes only
 * once it has read them all; no codec, one call at a time. Started by
 * bench/main.ts.
 *
 * @module
 */

import { HOSTNAME, runClientProcess } from "./child.ts";
import { readFull, writeAll } from "./conn_io.ts";
import { FRAME_HEADER_SIZE, writeLength } from "../src/wire/framing.ts";

/**
 * Runs the client.
 *
 * @param fresh Whether each answer gets a new buffer, as an RPC's caller
 * gets a result of its own, rather than one reused buffer.
 */
export function storeAndForwardClient(fresh: boolean): Promise<void> {
  return runClientProcess("bytes", async ({ port }) => {
    const conn = await Deno.connect({ hostname: HOSTNAME, port });
    conn.setNoDelay(true);
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    // One answer buffer per size, reused: the workloads check an answer
    // before the next call.
    const answers = new Map<number, Uint8Array>();
    return {
      echo: async (payload) => {
        const bytes = payload as Uint8Array;
        let answer = answers.get(bytes.byteLength);
        if (fresh || answer === undefined) {
          answer = new Uint8Array(bytes.byteLength);
          answers.set(bytes.byteLength, answer);
        }
        writeLength(header, 0, bytes.byteLength);
        await writeAll(conn, header);
        await writeAll(conn, bytes);
        await readFull(conn, answer);
        return answer;
      },
      close: () => conn.close(),
    };
  });
}

if (import.meta.main) await storeAndForwardClient(false);
