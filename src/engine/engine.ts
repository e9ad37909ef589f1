import { createHash } from 'node:crypto';
import { crc32c, crc32cCombine } from '../crc32c.js';
import { crc64nvme, crc64nvmeCombine } from '../crc64nvme.js';
import { RangepoolError, invalidArgument } from '../errors.js';
import { defaultPool } from '../pool/index.js';
import type { Pool } from '../pool/types.js';
import type { ObjectMeta, Store } from '../stores/store.js';
import type { Location } from '../uri.js';
import { Limiter, abortedError } from './limiter.js';
import { planParts, type Part } from './plan.js';
import { DEFAULT_RETRY, backoffMs, isRetryable, sleep, withRetries, type RetryOptions } from './retry.js';

const MiB = 1024 * 1024;

/** Whole-object checksums the engine can check, cheapest first. */
export type Checksum = 'crc32c' | 'crc64nvme' | 'md5';

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
  /** A range that receives no byte for this long is abandoned and retried. Default 30 s. */
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
}

export interface Download {
  buffer: Buffer;
  stats: DownloadStats;
}

function positiveInt(value: unknown, name: string, uri: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw invalidArgument(`${name} must be a positive integer, got ${value}`, uri);
  return value as number;
}

/**
 * Downloads objects as concurrent byte ranges written straight into one pooled buffer. Knows nothing
 * of any cloud: a Store translates. Every range is pinned to the version `stat` saw, checked, retried
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
      throw signal?.aborted ? abortedError(signal, loc.uri) : e;
    });
  }

  async download(store: Store, loc: Location, meta: ObjectMeta, opts: DownloadOptions = {}): Promise<Download> {
    const { uri } = loc;
    const partSize = positiveInt(opts.partSize ?? this.options.partSize, 'partSize', uri);
    const concurrency = positiveInt(opts.concurrency ?? this.options.concurrency, 'concurrency', uri);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`offset must be a non-negative integer, got ${offset}`, uri);
    if (offset > meta.size) throw invalidArgument(`offset ${offset} is past the end of the object (${meta.size} bytes)`, uri);
    const length = opts.length ?? meta.size - offset;
    if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument(`length must be a non-negative integer, got ${length}`, uri);
    if (offset + length > meta.size) {
      throw invalidArgument(`range ${offset}+${length} runs past the end of the object (${meta.size} bytes)`, uri);
    }
    const whole = offset === 0 && length === meta.size;
    const verify = this.verification(meta, opts.verify, whole, uri);
    const signal = opts.signal;
    if (signal?.aborted) throw abortedError(signal, uri);

    const started = performance.now();
    const pool = opts.pool ?? defaultPool();
    const buffer = await pool.acquire(length, { signal }).catch((e) => {
      throw e instanceof RangepoolError ? new RangepoolError(e.code, e.message, { uri, cause: e.cause }) : e;
    });
    const align = store.alignment ?? 1;
    const parts = planParts(offset, length, Math.ceil(partSize / align) * align, this.options.singleRequestBelow);
    const stats: DownloadStats = { bytes: length, ranges: parts.length, requests: 0, retries: 0, elapsedMs: 0, bytesPerSecond: 0, verified: false };
    const crcs = new Array<number | bigint>(parts.length).fill(0);
    // One controller for the whole download: the caller's abort, or the first failure, stops every range.
    const stop = new AbortController();
    const onCallerAbort = () => stop.abort(abortedError(signal!, uri));
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    let received = 0;
    const progress = (n: number) => {
      received += n;
      opts.onProgress?.({ bytes: received, total: length });
    };
    try {
      const queue = [...parts];
      const worker = async () => {
        for (let part = queue.shift(); part && !stop.signal.aborted; part = queue.shift()) {
          crcs[part.index] = await this.fetchPart(store, loc, meta, buffer, part, stop.signal, stats, progress, verify);
        }
      };
      const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, parts.length) }, worker).map((p) =>
        p.catch((e) => {
          if (!stop.signal.aborted) stop.abort(e);
          throw e;
        }),
      ));
      // Every range has stopped writing by now: only then may the buffer go back.
      if (results.some((r) => r.status === 'rejected') || stop.signal.aborted) throw stop.signal.reason;
      if (verify) this.check(verify, meta, buffer, parts, crcs, uri);
      stats.verified = verify;
    } catch (e) {
      pool.release(buffer);
      throw e instanceof RangepoolError ? e : new RangepoolError('Internal', `unexpected error: ${(e as Error)?.message}`, { uri, cause: e });
    } finally {
      signal?.removeEventListener('abort', onCallerAbort);
    }
    stats.elapsedMs = performance.now() - started;
    stats.bytesPerSecond = stats.elapsedMs > 0 ? (length / stats.elapsedMs) * 1000 : 0;
    return { buffer, stats };
  }

  private verification(meta: ObjectMeta, asked: DownloadOptions['verify'], whole: boolean, uri: string): DownloadStats['verified'] {
    if (!asked) return false;
    const kind = (['crc32c', 'crc64nvme', 'md5'] as const).find((k) => meta.checksums?.[k] !== undefined);
    if (kind && whole) return kind;
    if (asked === 'require') {
      throw new RangepoolError('Unsupported', whole ? 'the service keeps no whole-object checksum for this object' : 'a partial range cannot be checked against a whole-object checksum', { uri });
    }
    return false;
  }

  private check(kind: Checksum, meta: ObjectMeta, buffer: Buffer, parts: Part[], crcs: Array<number | bigint>, uri: string): void {
    let ok: boolean;
    // Per-range CRCs were computed as bytes landed; combining them costs no pass over memory.
    if (kind === 'crc32c') {
      const whole = parts.reduce((acc, p) => crc32cCombine(acc, crcs[p.index] as number, p.end - p.start + 1), 0);
      ok = whole === meta.checksums!.crc32c;
    } else if (kind === 'crc64nvme') {
      const whole = parts.reduce((acc, p) => crc64nvmeCombine(acc, crcs[p.index] as bigint, p.end - p.start + 1), 0n);
      ok = whole === meta.checksums!.crc64nvme;
    } else {
      // MD5 cannot be combined: this is a second pass, used only where the service has nothing else.
      ok = md5Base64(buffer) === meta.checksums!.md5;
    }
    if (!ok) throw new RangepoolError('IntegrityError', `the object's ${kind} does not match the bytes received`, { uri });
  }

  /** One part, with retries that resume from the last byte received. Returns the part's CRC, if one is kept. */
  private async fetchPart(
    store: Store,
    loc: Location,
    meta: ObjectMeta,
    buffer: Buffer,
    part: Part,
    signal: AbortSignal,
    stats: DownloadStats,
    progress: (n: number) => void,
    checksum: Checksum | false,
  ): Promise<number | bigint> {
    const length = part.end - part.start + 1;
    const target = buffer.subarray(part.offset, part.offset + length);
    const { retry, stallTimeoutMs } = this.options;
    let written = 0;
    let crc: number | bigint = checksum === 'crc64nvme' ? 0n : 0;
    for (let attempt = 0; ; attempt++) {
      const giveSlot = await this.limiter.take(signal);
      const attemptAbort = new AbortController();
      const onStop = () => attemptAbort.abort(signal.reason);
      signal.addEventListener('abort', onStop, { once: true });
      // One check per quarter of the timeout, against the time of the last byte: re-arming a timer on
      // every 64 KiB chunk would cost thousands of timers per GiB.
      let lastData = performance.now();
      const stall = setInterval(() => {
        if (performance.now() - lastData < stallTimeoutMs) return;
        attemptAbort.abort(new RangepoolError('Timeout', `no data for ${stallTimeoutMs} ms on bytes ${part.start + written}-${part.end}`, { uri: loc.uri }));
      }, Math.max(10, stallTimeoutMs / 4));
      stats.requests++;
      try {
        const from = written;
        await store.readRange(loc, part.start + from, target.subarray(from), {
          version: meta,
          signal: attemptAbort.signal,
          onData: (n) => {
            if (checksum === 'crc32c') crc = crc32c(target.subarray(written, written + n), crc as number);
            else if (checksum === 'crc64nvme') crc = crc64nvme(target.subarray(written, written + n), crc as bigint);
            written += n;
            progress(n);
            lastData = performance.now();
          },
        });
        return crc;
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        // A stall aborts the attempt: the store then fails with whatever its SDK says; the stall is the cause.
        const err = attemptAbort.signal.aborted ? attemptAbort.signal.reason : e;
        if (!isRetryable(err) || attempt >= retry.retries) throw err;
        stats.retries++;
      } finally {
        clearInterval(stall);
        signal.removeEventListener('abort', onStop);
        giveSlot();
      }
      await sleep(backoffMs(attempt, retry), signal).catch(() => {
        throw signal.reason;
      });
    }
  }
}

function md5Base64(buf: Buffer): string {
  return createHash('md5').update(buf).digest('base64');
}
