/**
 * Byte helpers shared by the codec and the framing.
 *
 * @module
 */

/** Joins parts into one buffer; a single part is returned as it is. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

/**
 * Joins runs of parts smaller than `aloneSize` into one chunk each, so they
 * go out in one write; larger parts stay alone, uncopied.
 */
export function joinSmallParts(
  parts: readonly Uint8Array[],
  aloneSize: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  for (const part of parts) {
    if (part.byteLength < aloneSize) {
      run.push(part);
      continue;
    }
    if (run.length > 0) chunks.push(concat(run));
    chunks.push(part);
    run = [];
  }
  if (run.length > 0) chunks.push(concat(run));
  return chunks;
}
