// Which bytes of a file have been written: sorted, merged [start, end) runs. Parts land out of order,
// each as a run that grows at its end, so an add is a binary search and, mostly, one end moved.

export class Extents {
  /** Sorted, disjoint, not touching: [start, end) pairs. */
  private runs: Array<[number, number]>;

  constructor(runs: ReadonlyArray<readonly [number, number]> = []) {
    this.runs = [];
    for (const [s, e] of runs) this.add(s, e - s);
  }

  add(at: number, length: number): void {
    if (length <= 0) return;
    const end = at + length;
    const runs = this.runs;
    // The first run that ends at or after `at` (it may touch or overlap the new one).
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid]![1] < at) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let start = at;
    let stop = end;
    while (i < runs.length && runs[i]![0] <= stop) {
      start = Math.min(start, runs[i]![0]);
      stop = Math.max(stop, runs[i]![1]);
      i++;
    }
    runs.splice(lo, i - lo, [start, stop]);
  }

  /** Takes [at, at + length) out (bytes that are not to be trusted after all). */
  remove(at: number, length: number): void {
    if (length <= 0) return;
    const end = at + length;
    this.runs = this.runs.flatMap(([s, e]): Array<[number, number]> => {
      if (e <= at || s >= end) return [[s, e]];
      const keep: Array<[number, number]> = [];
      if (s < at) keep.push([s, at]);
      if (e > end) keep.push([end, e]);
      return keep;
    });
  }

  /** Bytes covered. */
  get bytes(): number {
    return this.runs.reduce((n, [s, e]) => n + e - s, 0);
  }

  /** The runs not covered in [0, size), as start and length. */
  missing(size: number): Array<{ start: number; length: number }> {
    const out: Array<{ start: number; length: number }> = [];
    let at = 0;
    for (const [s, e] of this.runs) {
      if (s > at) out.push({ start: at, length: Math.min(s, size) - at });
      at = Math.max(at, e);
    }
    if (at < size) out.push({ start: at, length: size - at });
    return out.filter((r) => r.length > 0);
  }

  toJSON(): Array<[number, number]> {
    return this.runs.map(([s, e]) => [s, e]);
  }
}
