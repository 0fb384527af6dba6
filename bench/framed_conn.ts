/**
 * The baseline's connection: isock's wire framing (a 4-byte big-endian
 * length, then the body) written by hand, with nothing else around it. It
 * is what isock's transport would be if it were as simple as it can be, so
 * the gap between the two is what isock's layers cost.
 *
 * @module
 */

import { joinSmallParts } from "../src/base/bytes.ts";
import { FRAME_HEADER_SIZE, writeLength } from "../src/wire/framing.ts";
import { readFull, writeAll } from "./conn_io.ts";

/** The reusable read buffer; a frame that does not fit gets its own. */
const READ_BUFFER_SIZE = 64 * 1024;
/** Bodies at least this long are written on their own instead of copied into a batch. */
const WRITE_ALONE_SIZE = 64 * 1024;

/**
 * Frames over one TCP connection: a tight read loop that cuts frames out of
 * one buffer, and a writer that joins the frames sent in the same turn into
 * one socket write.
 */
export class FramedConn {
  readonly #conn: Deno.TcpConn;
  /** Headers and bodies waiting to be written, in order. */
  #unwritten: Uint8Array[] = [];
  #flushing: Promise<void> | undefined;
  #writeError: unknown;

  /** @param conn The connection; closed by {@linkcode FramedConn.close}. */
  constructor(conn: Deno.TcpConn) {
    conn.setNoDelay(true);
    this.#conn = conn;
  }

  /**
   * Reads frames until the peer closes the connection.
   *
   * @param onFrame Called with each frame body, a buffer of its own that
   * the callee may keep.
   * @returns Resolves when the peer closes between frames.
   * @throws {Error} When the connection ends inside a frame or fails.
   */
  async readFrames(onFrame: (body: Uint8Array) => void): Promise<void> {
    const conn = this.#conn;
    const buffer = new Uint8Array(READ_BUFFER_SIZE);
    const view = new DataView(buffer.buffer);
    let start = 0;
    let end = 0;
    for (;;) {
      let length = -1;
      while (end - start >= FRAME_HEADER_SIZE) {
        length = view.getUint32(start);
        const frameEnd = start + FRAME_HEADER_SIZE + length;
        if (frameEnd > end) break;
        // A copy, so that the body outlives the buffer (decoders may
        // return views of it).
        onFrame(buffer.slice(start + FRAME_HEADER_SIZE, frameEnd));
        start = frameEnd;
        length = -1;
      }
      if (length >= 0 && FRAME_HEADER_SIZE + length > READ_BUFFER_SIZE) {
        // Too large for the buffer: read the rest straight into its own.
        const body = new Uint8Array(length);
        body.set(buffer.subarray(start + FRAME_HEADER_SIZE, end));
        await readFull(conn, body.subarray(end - start - FRAME_HEADER_SIZE));
        start = end = 0;
        onFrame(body);
        continue;
      }
      if (start > 0) {
        buffer.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const count = await conn.read(buffer.subarray(end));
      if (count === null) {
        if (end > 0) throw new Error("The connection ended inside a frame.");
        return;
      }
      end += count;
    }
  }

  /**
   * Queues a frame. Frames sent in the same turn go out in one write.
   *
   * @param body The frame body; it must not change until written.
   * @throws {Error} When an earlier write failed.
   */
  send(body: Uint8Array): void {
    if (this.#writeError !== undefined) throw this.#writeError;
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    writeLength(header, 0, body.byteLength);
    this.#unwritten.push(header, body);
    this.#flushing ??= this.#flush();
  }

  /** Closes the connection; reads and writes under way fail. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  async #flush(): Promise<void> {
    // Let the rest of this turn queue its frames first.
    await null;
    try {
      while (this.#unwritten.length > 0) {
        const parts = this.#unwritten;
        this.#unwritten = [];
        for (const chunk of joinSmallParts(parts, WRITE_ALONE_SIZE)) {
          await writeAll(this.#conn, chunk);
        }
      }
    } catch (error) {
      // The read loop sees the connection fail and ends the calls.
      this.#writeError = error;
      this.close();
    } finally {
      this.#flushing = undefined;
    }
  }
}
