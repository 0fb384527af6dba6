/**
 * The numbers of stream flow control (PROTOCOL.md, "Streams"): how many
 * items, and between peers that send batches how many bytes, a receiver
 * takes before it grants more, and how long a sender may keep the event
 * loop to itself.
 *
 * @module
 */

/**
 * The default window: items a receiver takes before it must grant more,
 * for a peer that counts items only (it did not announce `batch` in its
 * hello).
 */
export const DEFAULT_WINDOW = 16;

/**
 * The default item window between peers that both announced `batch`: with
 * the byte window below, it bounds what a slow consumer lets pile up. Small
 * items are held by this one (1,024 items of 60 bytes is about 64 KiB, the
 * window of HTTP/2), large ones by the bytes.
 */
export const BATCH_WINDOW = 1024;

/**
 * The default byte window between peers that both announced `batch`: the
 * bytes of item messages a receiver takes before it must grant more. An
 * item larger than the window still goes, alone, when any byte credit is
 * left.
 */
export const BYTE_WINDOW = 1024 * 1024;

/**
 * How long a sender may keep the event loop to itself, in milliseconds: a
 * source that yields without waiting for I/O (a generator counting up)
 * would otherwise send its whole window in one go while every other
 * connection waits. After this much time it lets other work run.
 */
export const TIME_SLICE = 4;
