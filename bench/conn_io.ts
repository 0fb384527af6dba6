/**
 * Whole reads and writes on a connection, for the hand-written peers: a
 * socket read or write may move fewer bytes than asked.
 *
 * @module
 */

/**
 * Writes every byte of `bytes`.
 *
 * @param conn The connection.
 * @param bytes What to write.
 * @returns Resolves once all of it is written.
 */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  for (let written = 0; written < bytes.byteLength;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/**
 * Fills `buffer` from the connection.
 *
 * @param conn The connection.
 * @param buffer Where to read to; filled completely.
 * @returns Resolves once `buffer` is full.
 * @throws {Error} When the peer closes before it is.
 */
export async function readFull(
  conn: Deno.Conn,
  buffer: Uint8Array,
): Promise<void> {
  for (let filled = 0; filled < buffer.byteLength;) {
    const count = await conn.read(buffer.subarray(filled));
    if (count === null) {
      throw new Error(
        `The peer closed the connection after ${filled} of ${buffer.byteLength} bytes.`,
      );
    }
    filled += count;
  }
}
