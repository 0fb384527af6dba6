/**
 * The store-and-forward limit's server: reads a 4-byte length and that
 * many bytes, whole, and only then writes them back, as an RPC answers
 * only once the whole request is in; no codec. Started by bench/main.ts.
 *
 * @module
 */

import { serveTcp } from "./child.ts";
import { readFull, writeAll } from "./conn_io.ts";
import { FRAME_HEADER_SIZE } from "../src/wire/framing.ts";

/**
 * Serves the echo.
 *
 * @param fresh Whether each message gets a new buffer, as an RPC's handler
 * gets data of its own, rather than one reused buffer.
 */
export function serveStoreAndForward(fresh: boolean): Promise<void> {
  return serveTcp(async (conn) => {
    conn.setNoDelay(true);
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    const view = new DataView(header.buffer);
    // One body buffer per size, reused: one message at a time.
    let body = new Uint8Array(0);
    for (;;) {
      try {
        await readFull(conn, header);
      } catch {
        return; // The client closed between messages.
      }
      const length = view.getUint32(0);
      if (fresh || body.byteLength !== length) body = new Uint8Array(length);
      await readFull(conn, body);
      await writeAll(conn, body);
    }
  });
}

if (import.meta.main) await serveStoreAndForward(false);
