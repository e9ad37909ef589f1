import type { AcquireStatus, BackendStats, PoolConfig } from './types.js';
import { isDetached, type Backend } from './backend.js';

const POISON_BYTE = 0xdb;
let nextId = 1_000_000; // apart from native pool ids

interface Idle {
  ab: ArrayBuffer;
  capacity: number;
  /** When it was returned, in return order (the cap evicts the least recent first, as the native pool). */
  seq: number;
}

/** Blocks above the largest class: multiples of this granule (or of a quarter of the largest class, if smaller). */
const LARGE_GRANULE = 64 * 1024 * 1024;
/** An idle large block serves a request it exceeds by at most an eighth (as the native pool). */
const LARGE_WASTE_DIVISOR = 8;

/**
 * The pool in plain JavaScript, for platforms without the addon, with the native pool's policy: size
 * classes, large blocks reused within a bounded waste, retention that follows the peak, trim when the
 * whole pool has been quiet. Blocks are resizable ArrayBuffers (so a buffer's byteLength is exactly the
 * size asked for); release transfers the memory to a fresh ArrayBuffer, which detaches the caller's one
 * just as the native pool does. A buffer dropped without release is reclaimed by the garbage collector,
 * not reused. Its cap is per thread, and fresh blocks are zeroed on this thread (no threadpool here).
 */
export class JsBackend implements Backend {
  readonly native = false;
  readonly id = nextId++;
  /** Per class, then one list of large blocks; the end is the most recently returned. */
  private readonly idle: Idle[][];
  private readonly outCount: number[];
  private readonly peakOut: number[];
  private readonly large: number;
  private readonly granule: number;
  private lastActivity = Date.now();
  private returns = 0;
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
    prefaulted: 0,
    views: 0,
  };
  private readonly wakes = new Set<() => void>();

  constructor(readonly config: PoolConfig) {
    this.large = config.sizeClasses.length;
    this.idle = [...config.sizeClasses, 0].map(() => []);
    this.outCount = this.idle.map(() => 0);
    this.peakOut = this.idle.map(() => 0);
    this.granule = Math.min(LARGE_GRANULE, Math.floor(config.sizeClasses.at(-1)! / 4)) || 1;
  }

  // Classes larger than the cap are skipped: such a request gets a large block instead.
  private classFor(size: number): number {
    const { sizeClasses, maxBytes } = this.config;
    const c = sizeClasses.findIndex((s) => s >= size);
    return c >= 0 && sizeClasses[c]! <= maxBytes ? c : this.large;
  }

  /** The list a block of this capacity belongs to. */
  private listOf(capacity: number): number {
    const c = this.classFor(capacity);
    return c !== this.large && this.config.sizeClasses[c] === capacity ? c : this.large;
  }

  capacityFor(size: number): number {
    const c = this.classFor(size);
    if (c !== this.large) return this.config.sizeClasses[c]!;
    const granular = Math.ceil(size / this.granule) * this.granule;
    return granular <= this.config.maxBytes ? granular : size;
  }

  acquire(size: number): ArrayBuffer | AcquireStatus {
    return this.tryAcquire(size);
  }

  tryAcquire(size: number): ArrayBuffer | AcquireStatus {
    const c = this.classFor(size);
    const needed = this.capacityFor(size);
    const s = this.counts;
    const list = this.idle[c]!;
    const at = c === this.large ? list.findLastIndex((b) => b.capacity >= needed && b.capacity - needed <= needed / LARGE_WASTE_DIVISOR) : list.length - 1;
    let ab: ArrayBuffer;
    let capacity = needed;
    if (at >= 0) {
      ({ ab, capacity } = list.splice(at, 1)[0]!);
      s.idleBytes -= capacity;
      s.reused++;
      ab.resize(size);
    } else {
      if (!this.evictFor(needed)) return 'over-cap';
      ab = new ArrayBuffer(size, { maxByteLength: needed });
      s.fresh++;
    }
    s.taken++;
    s.inUseBytes += capacity;
    s.peakInUseBytes = Math.max(s.peakInUseBytes, s.inUseBytes);
    this.peakOut[c] = Math.max(this.peakOut[c]!, ++this.outCount[c]!);
    this.lastActivity = Date.now();
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
    const c = this.listOf(capacity);
    s.returned++;
    s.inUseBytes -= capacity;
    this.outCount[c]!--;
    this.lastActivity = Date.now();
    // Keep what the recent peak needed: as many idle as were out at once since the last trim.
    if (ab && this.idle[c]!.length < Math.min(this.config.idlePerClass, this.peakOut[c]!)) {
      this.idle[c]!.push({ ab, capacity, seq: this.returns++ });
      s.idleBytes += capacity;
    }
    if (this.wakes.size > 0) queueMicrotask(() => this.wakes.forEach((wake) => wake()));
  }

  /** Drops idle blocks, least recently returned first, until `needed` more bytes fit under the cap. */
  private evictFor(needed: number): boolean {
    const s = this.counts;
    while (s.inUseBytes + s.idleBytes + needed > this.config.maxBytes) {
      let oldest: Idle[] | undefined;
      for (const list of this.idle) if (list.length > 0 && (!oldest || list[0]!.seq < oldest[0]!.seq)) oldest = list;
      if (!oldest) return false;
      this.dropped(oldest.shift()!.capacity);
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

  /** Every idle block, once the pool has been quiet (no acquire, no return) for minIdleMs (0: now). */
  trim(minIdleMs: number): number {
    if (minIdleMs > 0 && Date.now() - this.lastActivity < minIdleMs) return 0;
    let freed = 0;
    this.idle.forEach((list, c) => {
      for (const b of list.splice(0)) {
        freed += b.capacity;
        this.dropped(b.capacity);
      }
      this.peakOut[c] = this.outCount[c]!; // retention follows the load from here on
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

