// Many spans of one object become few requests: spans closer than `gap` bytes are merged (as object_store's
// get_ranges does), and every span asked for is then a view into one of the merged ones.

/** A span asked for: `length` bytes from `offset`. */
export type Span = readonly [offset: number, length: number];

/** One request's worth: bytes [start, start + length) of the object, at `at` in the result buffer. */
export interface Merged {
  start: number;
  length: number;
  at: number;
}

/**
 * Merges the non-empty spans whose gap to the previous one is at most `gap` bytes (overlapping and
 * touching spans always merge), in object order, laid out one after another from 0, each at the object
 * offset's remainder modulo 8 (so data aligned in the object is aligned in the result: typed arrays over
 * it work). Returns the merged spans and, for each span asked for (in the caller's order), where its
 * bytes start in the result, and the result's size.
 */
export function coalesce(spans: ReadonlyArray<Span>, gap: number): { merged: Merged[]; at: number[]; size: number } {
  const order = spans.map((_, i) => i).filter((i) => spans[i]![1] > 0).sort((a, b) => spans[a]![0] - spans[b]![0]);
  const merged: Merged[] = [];
  const at = spans.map(() => 0);
  let total = 0;
  for (const i of order) {
    const [offset, length] = spans[i]!;
    const last = merged.at(-1);
    if (last && offset <= last.start + last.length + gap) {
      const end = Math.max(last.start + last.length, offset + length);
      total += end - (last.start + last.length);
      last.length = end - last.start;
    } else {
      const place = total + ((offset - total) & 7);
      merged.push({ start: offset, length, at: place });
      total = place + length;
    }
    const into = merged.at(-1)!;
    at[i] = into.at + (offset - into.start);
  }
  return { merged, at, size: total };
}
