import type { AcquireStatus, BackendStats, PoolConfig } from './types.js';

/**
 * Where blocks come from. The facade (buffer-pool.ts) adds argument checks, FIFO waiting and abort;
 * a backend only hands out exact-length ArrayBuffers, takes them back, and counts.
 */
export interface Backend {
  readonly native: boolean;
  /** Shared by every thread that attaches to the same native pool; unique per JS pool. */
  readonly id: number;
  readonly config: PoolConfig;
  /**
   * Exactly `size` bytes (size >= 1), or 'over-cap'. With waitForReturning, 'returning' instead of a
   * fresh block when a released block of that size is back at the next turn.
   */
  tryAcquire(size: number, waitForReturning?: boolean): ArrayBuffer | AcquireStatus;
  /**
   * The same for an acquire that may wait: where the backend can, a fresh block is prepared off the
   * event loop (its pages faulted in on a threadpool thread) and comes as a promise.
   */
  acquire(size: number, waitForReturning?: boolean): ArrayBuffer | AcquireStatus | Promise<ArrayBuffer>;
  /** True when given back now, false when it was already released; TypeError when not ours. */
  release(ab: ArrayBuffer): boolean;
  /** Bytes a request of `size` occupies against the cap. */
  capacityFor(size: number): number;
  /** Capacity of the block behind a live buffer of this pool, or 0. */
  capacityOf(ab: ArrayBuffer): number;
  stats(): BackendStats;
  trim(minIdleMs: number): number;
  noteWait(): void;
  /** While on, `wake` runs (asynchronously) after memory comes back to this pool from any thread. */
  watch(on: boolean, wake: () => void): void;
  /** A buffer was garbage-collected without release (the JS backend accounts for it here). */
  collected(capacity: number): void;
}

/** A detached ArrayBuffer (one that was released) cannot back a view. */
export function isDetached(ab: ArrayBuffer): boolean {
  if (ab.byteLength !== 0) return false;
  try {
    new Uint8Array(ab);
    return false;
  } catch {
    return true;
  }
}
