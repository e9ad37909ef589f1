/** One request's worth of an object: bytes [start, end] inclusive, at `offset` in the result buffer. */
export interface Part {
  index: number;
  start: number;
  end: number;
  offset: number;
}

/**
 * Splits [start, start + length) into parts of `partSize` (the last one shorter). Below
 * `singleRequestBelow` bytes the whole span is one request. Part boundaries fall on multiples of
 * partSize from `start`, so block-aligned part sizes keep O_DIRECT reads aligned.
 */
export function planParts(start: number, length: number, partSize: number, singleRequestBelow: number): Part[] {
  if (length === 0) return [];
  const size = length < singleRequestBelow ? length : partSize;
  const parts: Part[] = [];
  for (let offset = 0, index = 0; offset < length; offset += size, index++) {
    const n = Math.min(size, length - offset);
    parts.push({ index, start: start + offset, end: start + offset + n - 1, offset });
  }
  return parts;
}
