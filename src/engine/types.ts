// The engine's option, result and context types, apart from the engine so a Download can use them
// without importing the engine that makes it.
import type { TlsPath } from '../http/socket-contract.js';
import type { Pool } from '../pool/types.js';
import type { ObjectMeta, Store, Transport } from '../stores/store.js';
import type { Location } from '../uri.js';
import type { Checksum } from './checksum.js';
import type { Limiter } from './limiter.js';
import type { RetryOptions } from './retry.js';
import type { Governor } from './governor.js';
import type { RateLimit } from './rate-limit.js';
import type { RangeThreads } from '../threads/range-threads.js';

export interface EngineOptions {
  /**
   * Bytes per ranged request, at most. Default 16 MiB (the best point of the benchmark's sweep,
   * bench/results/sweep.md), and smaller towards the end of an object so its last ranges end together
   * (down to 2 MiB). Set, every range but the last is exactly this size.
   */
  partSize?: number | undefined;
  /**
   * Ranges of one object in flight at once. Default: adaptive, per host and shared by every download of
   * this engine: more while they add throughput, fewer when the service throttles (see engine/governor.ts).
   * Set, this many per object, as asked (only maxInFlight still applies), and stragglers are not re-asked.
   */
  concurrency?: number | undefined;
  /** Ranges in flight at once across every download of this engine, and the most the adaptive limit reaches. Default 128. */
  maxInFlight?: number | undefined;
  /** Objects (or spans) smaller than this are fetched in one request. Default: partSize. */
  singleRequestBelow?: number | undefined;
  retry?: Partial<RetryOptions> | undefined;
  /** A request that receives no byte for this long is abandoned and retried. Default 30 s. */
  stallTimeoutMs?: number | undefined;
  /**
   * A request that receives fewer bytes than this per second, averaged over any stallTimeoutMs, is
   * abandoned and retried like a stall (curl's --speed-limit over --speed-time): a server that trickles
   * a byte now and then still has an end. Default 1024; 0 turns it off.
   */
  minBytesPerSecond?: number | undefined;
  /**
   * Worker threads that read ranges on the direct transport (HTTP stores): each owns keep-alive
   * connections and reads bodies straight into the pooled buffer, so decryption and socket reads use
   * more than one core. 0 reads on the calling thread. Default RANGEPOOL_THREADS, else chosen from
   * os.availableParallelism() (see defaultThreads). Used with the native pool; the JS fallback pool
   * reads on the calling thread.
   */
  threads?: number | undefined;
  /**
   * A bandwidth cap over every download of this engine (getMany's objects and range threads included),
   * bytes per second, held over any second or two (curl --limit-rate, rclone --bwlimit). Reading stops
   * while the transfer is ahead of it, and the requests in flight stay few enough that each still moves.
   * Default 0: none. The file store is not capped.
   */
  maxBytesPerSecond?: number | undefined;
}

export interface Progress {
  bytes: number;
  total: number;
}

export interface DownloadOptions {
  /** Where the buffer comes from. Default: the process's shared pool (defaultPool()). */
  pool?: Pool | undefined;
  /** Aborting it stops every request of the call: it rejects with `Aborted`, and every byte goes back to the pool. */
  signal?: AbortSignal | undefined;
  /**
   * Called as bytes arrive, with the bytes so far and the total of the span (not in order: ranges land
   * concurrently). What it throws stops the download and reaches the caller as it is.
   */
  onProgress?: ((p: Progress) => void) | undefined;
  /** Bytes per ranged request for this call (every range but the last exactly this). Default: the engine's (16 MiB, smaller towards the end). */
  partSize?: number | undefined;
  /** Ranges of this object in flight at once, fixed. Default: the host's adaptive limit (see EngineOptions.concurrency). */
  concurrency?: number | undefined;
  /** Check the whole-object checksum the service keeps: true when there is one, 'require' to fail without. */
  verify?: boolean | 'require' | undefined;
  /** The first byte of the span to read. Default 0. */
  offset?: number | undefined;
  /** Bytes of the span from `offset`. Default: to the end of the object. */
  length?: number | undefined;
  /** Only this ETag will do (sent as If-Match on the first request when the meta is not known yet). */
  ifMatch?: string | undefined;
  /**
   * @internal
   * Compute this CRC of the span as bytes land and return it (`DownloadResult.crc`), so spans fetched
   * apart can be checked as one object (stream() and download() do). Internal; no check is made here.
   */
  crc?: 'crc32c' | 'crc64nvme' | undefined;
  /**
   * @internal
   * Internal (getRanges): these spans of the object instead of offset/length, each read into the buffer
   * at `at`; the meta must be known and pin ranges.
   */
  spans?: ReadonlyArray<{ start: number; length: number; at: number }> | undefined;
  /** @internal Internal (a handle's readInto): read into this buffer, of exactly the span's length, instead of a pooled one. */
  into?: Buffer | undefined;
  /**
   * @internal
   * Internal (download()): every byte is handed to `sink.write` as it lands, at its offset in the object,
   * while still in cache, instead of staying in one buffer of the span: each request reads into a pooled
   * block of its own, returned when the request ends, so memory is the requests in flight. `sink.start`
   * hears what the object is before the first byte. The result's buffer is empty. An MD5 (which cannot be
   * combined from parts) is left to the caller: `verified` stays false. What the sink throws stops the
   * download and reaches the caller as it is.
   */
  sink?: {
    start(meta: ObjectMeta, offset: number, length: number): void;
    /** Resolves once written (off this thread): until then `bytes` stay as they are. */
    write(at: number, bytes: Buffer): Promise<void>;
    /** Bytes written earlier that are not to be trusted after all (their response broke its framing); they come again. */
    forget(at: number, length: number): void;
    /** Bytes of blocks held at once, at most (a request waits for room before it takes a slot). Default: no bound but the pool's cap. */
    window?: number | undefined;
    /** Landing rings place their bytes so that full blocks end at multiples of `unit` past `origin` (see Ring: O_DIRECT). */
    align?: { unit: number; origin: number } | undefined;
  };
  /** @internal Internal (the CLI's --range, as curl -r): a span running past the end of the object ends at its end. */
  clampToSize?: boolean | undefined;
  /**
   * @internal
   * Internal (stream()'s first chunk, with the meta unknown): the span is what the first response carries
   * from `offset`, `length` asked (less at the end of the object, the whole object where the server
   * ignores ranges). Implies clampToSize.
   */
  firstResponseOnly?: boolean | undefined;
}

export interface DownloadStats {
  bytes: number;
  ranges: number;
  requests: number;
  retries: number;
  elapsedMs: number;
  bytesPerSecond: number;
  /** Which whole-object checksum was checked, if any. */
  verified: Checksum | false;
  /** For HTTP stores: whether ranges were read by rangepool's own reader or by the cloud SDK. */
  transport: Transport | undefined;
  /** Range threads the download's ranges were read on (0: the calling thread). */
  threads: number;
  /** The most requests of this download in flight at once (connections in use). */
  connections: number;
  /** Ranges whose remaining bytes were asked for again because they were far slower than their peers. */
  stragglers: number;
  /** Responses that said to slow down (503 SlowDown, 429). */
  throttled: number;
  /** Median time from sending a request to its first body byte, in ms. */
  firstByteMs: number;
  /**
   * Over https: on the direct transport: 'native' when every body was decrypted by the addon's TLS reader,
   * 'node' when any was read through Node's TLS (see RANGEPOOL_NATIVE_TLS); undefined otherwise.
   */
  tls?: TlsPath | undefined;
}

export interface DownloadResult {
  buffer: Buffer;
  /** What the object is: from stat, or from the first ranged response. */
  meta: ObjectMeta;
  stats: DownloadStats;
  /** @internal The span's CRC, when an internal caller asked for one (stream() and download() combine them). */
  crc?: number | bigint | undefined;
}

/** What a Download needs of the engine that runs it. */
export interface EngineContext {
  readonly options: Required<Omit<EngineOptions, 'retry' | 'concurrency'>> & { retry: RetryOptions; concurrency: number | undefined };
  /** The adaptive in-flight limit of the host `loc` is on (one per store and bucket or host). */
  governor(store: Store, loc: Location): Governor;
  readonly limiter: Limiter;
  /** The engine's range threads (started on first use), or undefined when it reads on the calling thread. */
  readonly threads: RangeThreads | undefined;
  /** The bandwidth cap (maxBytesPerSecond), shared by every request of the engine. */
  readonly rate: RateLimit | undefined;
  stat(store: Store, loc: Location, signal?: AbortSignal): Promise<ObjectMeta>;
}
