// A bandwidth cap (maxBytesPerSecond, the CLI's --limit-rate) shared by every request of an engine, on any
// thread: a GCRA (generic cell rate algorithm) over one "theoretical arrival time" in shared memory. Each read
// pays for its bytes by moving that time on by bytes ÷ rate; a reader ahead of the clock by more than a short
// burst stops reading (TCP's own backpressure then slows the server) until the clock catches up. One atomic
// compare-and-swap per read, no timer unless a reader must wait, and the rate holds over any second or two.

/** How far ahead of the clock readers may run (bursts smaller than this pass at once). */
const BURST_MS = 200;

/** Microseconds on a clock every thread of the process shares (timeOrigin differs per thread; the sum does not). */
const nowUs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

export class RateLimit {
  private readonly tat: BigInt64Array;

  /** `shared` is another thread's RateLimit.shared, to share its budget. */
  constructor(
    readonly bytesPerSecond: number,
    readonly shared: SharedArrayBuffer = new SharedArrayBuffer(8),
    private readonly now: () => bigint = nowUs,
  ) {
    this.tat = new BigInt64Array(shared);
  }

  /**
   * The most bytes one read may take: an eighth of a second's worth, and at most 128 KiB, so that what the
   * requests in flight read before they pay (one read each) stays within a fraction of a second.
   */
  get maxRead(): number {
    return Math.min(128 * 1024, Math.max(16 * 1024, Math.floor(this.bytesPerSecond / 8)));
  }

  /** Accounts `n` bytes received; returns how many ms to wait before reading more (0: go on). */
  take(n: number): number {
    const cost = BigInt(Math.ceil((n * 1e6) / this.bytesPerSecond));
    for (;;) {
      const old = Atomics.load(this.tat, 0);
      const now = this.now();
      const next = (old > now ? old : now) + cost;
      if (Atomics.compareExchange(this.tat, 0, old, next) === old) return Math.max(0, Number(next - now) / 1000 - BURST_MS);
    }
  }
}
