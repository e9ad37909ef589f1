import { RangepoolError, abortedError, invalidArgument } from '../errors.js';
import { defaultPool } from '../pool/index.js';
import type { Pool } from '../pool/types.js';
import type { ObjectMeta, Store, Transport } from '../stores/store.js';
import type { Location } from '../uri.js';
import type { Checksum } from './checksum.js';
import { Download } from './download.js';
import { Limiter } from './limiter.js';
import { DEFAULT_RETRY, withRetries, type RetryOptions } from './retry.js';

export type { Checksum } from './checksum.js';

const MiB = 1024 * 1024;

export interface EngineOptions {
  /** Bytes per ranged request. Default 16 MiB (the best point of the benchmark's sweep, bench/results/sweep.md). */
  partSize?: number;
  /** Ranges of one object in flight at once. Default 8. */
  concurrency?: number;
  /** Ranges in flight at once across every download of this engine. Default 64. */
  maxInFlight?: number;
  /** Objects (or spans) smaller than this are fetched in one request. Default: partSize. */
  singleRequestBelow?: number;
  retry?: Partial<RetryOptions>;
  /** A request that receives no byte for this long is abandoned and retried. Default 30 s. */
  stallTimeoutMs?: number;
}

export interface Progress {
  bytes: number;
  total: number;
}

export interface DownloadOptions {
  pool?: Pool;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  partSize?: number;
  concurrency?: number;
  /** Check the whole-object checksum the service keeps: true when there is one, 'require' to fail without. */
  verify?: boolean | 'require';
  /** Span of the object; default the whole of it. */
  offset?: number;
  length?: number;
  /** Only this ETag will do (sent as If-Match on the first request when the meta is not known yet). */
  ifMatch?: string;
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
}

export interface DownloadResult {
  buffer: Buffer;
  /** What the object is: from stat, or from the first ranged response. */
  meta: ObjectMeta;
  stats: DownloadStats;
}

function positiveInt(value: unknown, name: string, uri: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw invalidArgument(`${name} must be a positive integer, got ${value}`, uri);
  return value as number;
}

/**
 * Downloads objects as concurrent byte ranges written straight into one pooled buffer. Knows nothing
 * of any cloud: a Store translates. Every range is pinned to one version of the object, checked, retried
 * with jittered backoff from the last byte received, and watched for stalls. On any failure the buffer
 * goes back to the pool before the error reaches the caller.
 */
export class RangeEngine {
  readonly options: Required<Omit<EngineOptions, 'retry'>> & { retry: RetryOptions };
  /** Shared by every download of this engine. */
  readonly limiter: Limiter;

  constructor(opts: EngineOptions = {}) {
    const partSize = opts.partSize ?? 16 * MiB;
    this.options = {
      partSize,
      concurrency: opts.concurrency ?? 8,
      maxInFlight: opts.maxInFlight ?? 64,
      singleRequestBelow: opts.singleRequestBelow ?? partSize,
      stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
      retry: { ...DEFAULT_RETRY, ...opts.retry },
    };
    for (const k of ['partSize', 'concurrency', 'maxInFlight', 'singleRequestBelow', 'stallTimeoutMs'] as const) {
      positiveInt(this.options[k], k, '');
    }
    this.limiter = new Limiter(this.options.maxInFlight);
  }

  /** The store's stat, under the same retry policy as ranges. */
  stat(store: Store, loc: Location, signal?: AbortSignal): Promise<ObjectMeta> {
    return withRetries(() => store.stat(loc, signal), this.options.retry, signal).catch((e) => {
      throw signal?.aborted ? (signal.reason instanceof RangepoolError ? signal.reason : abortedError(signal, loc.uri)) : e;
    });
  }

  /**
   * The object (or the span opts.offset/length) in one pooled buffer. With `meta` undefined, a store that
   * can (readFirst) learns it from the first ranged response instead of a stat in front.
   */
  async download(store: Store, loc: Location, meta: ObjectMeta | undefined, opts: DownloadOptions = {}): Promise<DownloadResult> {
    const { uri } = loc;
    const partSize = positiveInt(opts.partSize ?? this.options.partSize, 'partSize', uri);
    const concurrency = positiveInt(opts.concurrency ?? this.options.concurrency, 'concurrency', uri);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`offset must be a non-negative integer, got ${offset}`, uri);
    if (opts.length !== undefined && (!Number.isSafeInteger(opts.length) || opts.length < 0)) {
      throw invalidArgument(`length must be a non-negative integer, got ${opts.length}`, uri);
    }
    return new Download(this, store, loc, opts.pool ?? defaultPool(), { ...opts, partSize, concurrency }, meta).run();
  }
}
