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

await serveTcp(async (conn) => {
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
    if (body.byteLength !== length) body = new Uint8Array(length);
    await readFull(conn, body);
    await writeAll(conn, body);
  }
});
