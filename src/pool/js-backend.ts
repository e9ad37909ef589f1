import type { AcquireStatus, BackendStats, PoolConfig } from './types.js';
import { isDetached, type Backend } from './backend.js';

const POISON_BYTE = 0xdb;
let nextId = 1_000_000; // apart from native pool ids

interface Idle {
  ab: ArrayBuffer;
  since: number;
}

/**
 * The pool in plain JavaScript, for platforms without the addon. Blocks are resizable ArrayBuffers
 * (so a buffer's byteLength is exactly the size asked for); release transfers the memory to a fresh
 * ArrayBuffer, which detaches the caller's one just as the native pool does. A buffer dropped without
 * release is reclaimed by the garbage collector, not reused. Its cap is per thread.
 */
export class JsBackend implements Backend {
  readonly native = false;
  readonly id = nextId++;
  private readonly idle: Idle[][];
  private readonly out = new WeakMap<ArrayBuffer, number>(); // live buffer -> capacity
  private readonly counts: BackendStats = {
    taken: 0,
    returned: 0,
    fresh: 0,
    reused: 0,
    waits: 0,
    inUseBytes: 0,
    idleBytes: 0,
    peakInUseBytes: 0,
    trimmedBytes: 0,
  };
  private readonly wakes = new Set<() => void>();

  constructor(readonly config: PoolConfig) {
    this.idle = config.sizeClasses.map(() => []);
  }

  // Classes larger than the cap are skipped: such a request gets an exact-size block instead.
  private classFor(size: number): number {
    const { sizeClasses, maxBytes } = this.config;
    const c = sizeClasses.findIndex((s) => s >= size);
    return c >= 0 && sizeClasses[c]! <= maxBytes ? c : -1;
  }

  capacityFor(size: number): number {
    const c = this.classFor(size);
    return c < 0 ? size : this.config.sizeClasses[c]!;
  }

  tryAcquire(size: number): ArrayBuffer | AcquireStatus {
    const c = this.classFor(size);
    const capacity = this.capacityFor(size);
    const s = this.counts;
    let ab = c >= 0 ? this.idle[c]!.pop()?.ab : undefined;
    if (ab) {
      s.idleBytes -= capacity;
      s.reused++;
      ab.resize(size);
    } else {
      if (!this.evictFor(capacity)) return 'over-cap';
      ab = c >= 0 ? new ArrayBuffer(size, { maxByteLength: capacity }) : new ArrayBuffer(size);
      s.fresh++;
    }
    s.taken++;
    s.inUseBytes += capacity;
    s.peakInUseBytes = Math.max(s.peakInUseBytes, s.inUseBytes);
    this.out.set(ab, capacity);
    return ab;
  }

  release(ab: ArrayBuffer): boolean {
    const capacity = this.out.get(ab);
    if (capacity === undefined) {
      if (isDetached(ab)) return false;
      throw new TypeError('not a buffer handed out by this pool');
    }
    this.out.delete(ab);
    // Transferred away (postMessage with a transfer list): the memory belongs to the receiver now, so the
    // block counts as returned and is not reused (there is nothing left to reuse).
    if (isDetached(ab)) {
      this.giveBack(capacity, undefined);
      return true;
    }
    // Moves the memory to a new ArrayBuffer and detaches `ab`: every view over it drops to length 0.
    const fresh = structuredClone(ab, { transfer: [ab] });
    if (this.config.poison) new Uint8Array(fresh).fill(POISON_BYTE);
    this.giveBack(capacity, fresh);
    return true;
  }

  collected(capacity: number): void {
    this.giveBack(capacity, undefined);
  }

  private giveBack(capacity: number, ab: ArrayBuffer | undefined): void {
    const s = this.counts;
    s.returned++;
    s.inUseBytes -= capacity;
    const c = this.classFor(capacity);
    if (ab && c >= 0 && this.config.sizeClasses[c] === capacity && this.idle[c]!.length < this.config.idlePerClass) {
      this.idle[c]!.push({ ab, since: Date.now() });
      s.idleBytes += capacity;
    }
    if (this.wakes.size > 0) queueMicrotask(() => this.wakes.forEach((wake) => wake()));
  }

  /** Drops idle blocks, oldest first, until `needed` more bytes fit under the cap. */
  private evictFor(needed: number): boolean {
    const s = this.counts;
    while (s.inUseBytes + s.idleBytes + needed > this.config.maxBytes) {
      let oldest = -1;
      this.idle.forEach((list, c) => {
        if (list.length > 0 && (oldest < 0 || list[0]!.since < this.idle[oldest]![0]!.since)) oldest = c;
      });
      if (oldest < 0) return false;
      this.idle[oldest]!.shift();
      this.dropped(this.config.sizeClasses[oldest]!);
    }
    return true;
  }

  private dropped(capacity: number): void {
    this.counts.idleBytes -= capacity;
    this.counts.trimmedBytes += capacity;
  }

  capacityOf(ab: ArrayBuffer): number {
    return this.out.get(ab) ?? 0;
  }

  stats(): BackendStats {
    return { ...this.counts };
  }

  trim(minIdleMs: number): number {
    const cutoff = Date.now() - minIdleMs;
    let freed = 0;
    this.idle.forEach((list, c) => {
      const keep = list.filter((b) => minIdleMs > 0 && b.since > cutoff);
      const capacity = this.config.sizeClasses[c]!;
      freed += (list.length - keep.length) * capacity;
      for (let i = keep.length; i < list.length; i++) this.dropped(capacity);
      this.idle[c] = keep;
    });
    if (freed > 0 && this.wakes.size > 0) queueMicrotask(() => this.wakes.forEach((wake) => wake()));
    return freed;
  }

  noteWait(): void {
    this.counts.waits++;
  }

  watch(on: boolean, wake: () => void): void {
    if (on) this.wakes.add(wake);
    else this.wakes.delete(wake);
  }
}

