/** What every pool (native or JS fallback) offers. The range engine only needs acquire/release. */
export interface PoolOptions {
  /** Block sizes in bytes, ascending. Default 1, 4, 16, 64, 256 MiB. */
  sizeClasses?: number[] | undefined;
  /**
   * At most this many idle blocks per size class (and of blocks above the largest class). Below it, a
   * pool keeps idle as many blocks of a class as were out at once since it last trimmed: retention
   * follows the load. Default 1024; 0 keeps none.
   */
  idlePerClass?: number | undefined;
  /** Cap on in-use + idle bytes. Default: half of the memory this process may use. */
  maxBytes?: number | undefined;
  /** Once the pool has seen no acquire and no release for this long, its idle blocks go back to the OS. Default 10 000 ms; 0 keeps them. */
  trimAfterMs?: number | undefined;
  /** Debug: fill released blocks with 0xDB so use-after-release shows. Default false. */
  poison?: boolean | undefined;
}

/** The options as a pool runs with them, defaults filled in (what both backends are made from). */
export type PoolConfig = Required<PoolOptions>;

/** The counters both backends keep (the facade adds its own diagnostic count). */
export type BackendStats = Omit<PoolStats, 'collectedWithoutRelease'>;

/**
 * Why a backend gave no block (the C++ core's AcquireStatus): 'over-cap', the cap would be exceeded;
 * 'returning', a released block of the class is back at the next turn (asked for with waitForReturning).
 */
export type AcquireStatus = 'over-cap' | 'returning';

export interface AcquireOptions {
  signal?: AbortSignal | undefined;
}

export interface PoolStats {
  /** Blocks handed out. */
  taken: number;
  /** Blocks given back (by release or by the garbage collector). */
  returned: number;
  /** Blocks newly mapped from the OS. */
  fresh: number;
  /** Blocks handed out again from the idle lists. */
  reused: number;
  /** Acquires that had to wait for the cap. */
  waits: number;
  /** Bytes of blocks currently out (block capacity, not requested length). */
  inUseBytes: number;
  /** Bytes of blocks kept idle for reuse. */
  idleBytes: number;
  /** Highest inUseBytes seen. */
  peakInUseBytes: number;
  /** Bytes given back to the OS by idle trim or cap pressure. */
  trimmedBytes: number;
  /** Fresh blocks whose pages were faulted in on a threadpool thread before they were handed out (native pool only). */
  prefaulted: number;
  /** Views of blocks lent to range threads and not given back yet (native pool only); a block with views out comes back only after the last. */
  views: number;
  /** Buffers collected without an explicit release (diagnostic). */
  collectedWithoutRelease: number;
}

export interface Pool {
  readonly native: boolean;
  /** The cap: in-use plus idle bytes never exceed it. */
  readonly maxBytes: number;
  acquire(size: number, opts?: AcquireOptions): Promise<Buffer>;
  release(buf: ArrayBufferView | ArrayBuffer): void;
  stats(): PoolStats;
  trim(): number;
}
