/**
 * The loopback limit's server: writes back whatever bytes arrive, with no
 * framing and no codec. Started by bench/main.ts.
 *
 * @module
 */

import { serveTcp } from "./child.ts";
import { writeAll } from "./conn_io.ts";

const BUFFER_SIZE = 256 * 1024;

await serveTcp(async (conn) => {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(BUFFER_SIZE);
  for (;;) {
    const count = await conn.read(buffer);
    if (count === null) return;
    await writeAll(conn, buffer.subarray(0, count));
  }
});
