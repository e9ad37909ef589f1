import { RangepoolError, abortedError, invalidArgument } from '../errors.js';
import { defaultPool } from '../pool/index.js';
import type { ListEntry, ObjectMeta, Store } from '../stores/store.js';
import type { Location } from '../uri.js';
import { Download } from './download.js';
import { Governor, type GovernorStats } from './governor.js';
import { Limiter } from './limiter.js';
import { DEFAULT_RETRY, logRetry, withRetries, withTimeout, type RetryOptions } from './retry.js';
import type { DownloadOptions, DownloadResult, EngineContext, EngineOptions } from './types.js';
import { binding } from '../native.js';
import { RangeThreads } from '../threads/range-threads.js';
import { RateLimit } from './rate-limit.js';
import { defaultThreads } from './threads-default.js';

export type { Checksum } from './checksum.js';
export type { DownloadOptions, DownloadResult, DownloadStats, EngineOptions, Progress } from './types.js';

const MiB = 1024 * 1024;

/** Ranges of one local file read at once (no network to adapt to: the disk and the thread pool set the pace). */
const FILE_CONCURRENCY = 8;

/** The smallest part size: below it, requests cost more than they carry (and a tiny one means millions of them). */
export const MIN_PART_SIZE = 64 * 1024;

function positiveInt(value: unknown, name: string, uri: string, min = 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw invalidArgument(`${name} must be ${min > 1 ? `a whole number of at least ${min}` : min === 0 ? 'a whole number' : 'a positive integer'}, got ${value}`, uri);
  }
  return value as number;
}

function checkRetry(retry: RetryOptions): RetryOptions {
  if (!Number.isSafeInteger(retry.retries) || retry.retries < 0) throw invalidArgument(`retry.retries must be a whole number, got ${retry.retries}`);
  for (const k of ['baseDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isFinite(retry[k]) || retry[k] < 0) throw invalidArgument(`retry.${k} must be a finite number of milliseconds, got ${retry[k]}`);
  }
  return retry;
}

/**
 * Downloads objects as concurrent byte ranges written straight into one pooled buffer. Knows nothing
 * of any cloud: a Store translates. Every range is pinned to one version of the object, checked, retried
 * with jittered backoff from the last byte received, and watched for stalls. On any failure the buffer
 * goes back to the pool before the error reaches the caller.
 */
export class RangeEngine implements EngineContext {
  readonly options: Required<Omit<EngineOptions, 'retry' | 'concurrency'>> & { retry: RetryOptions; concurrency: number | undefined };
  /** Shared by every download of this engine. */
  readonly limiter: Limiter;
  readonly rate: RateLimit | undefined;
  /** The adaptive in-flight limit of each host (store and bucket) this engine has read from. */
  private readonly hosts = new Map<Store, Map<string, Governor>>();
  /** Whether partSize was asked for (then every range is that size), or is the default (then ranges shrink towards the end). */
  readonly partSizeAsked: boolean;

  constructor(opts: EngineOptions = {}) {
    const partSize = opts.partSize ?? 16 * MiB;
    this.partSizeAsked = opts.partSize !== undefined;
    this.options = {
      partSize,
      concurrency: opts.concurrency,
      maxInFlight: opts.maxInFlight ?? 128,
      singleRequestBelow: opts.singleRequestBelow ?? partSize,
      stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
      minBytesPerSecond: opts.minBytesPerSecond ?? 1024,
      threads: opts.threads ?? defaultThreads(),
      maxBytesPerSecond: opts.maxBytesPerSecond ?? 0,
      retry: checkRetry({ ...DEFAULT_RETRY, ...opts.retry }),
    };
    positiveInt(this.options.threads, 'threads', '', 0);
    for (const k of ['maxInFlight', 'singleRequestBelow', 'stallTimeoutMs'] as const) positiveInt(this.options[k], k, '');
    if (opts.concurrency !== undefined) positiveInt(opts.concurrency, 'concurrency', '');
    positiveInt(partSize, 'partSize', '', MIN_PART_SIZE);
    if (!Number.isFinite(this.options.minBytesPerSecond) || this.options.minBytesPerSecond < 0) {
      throw invalidArgument(`minBytesPerSecond must be a number of bytes per second (0 for no floor), got ${this.options.minBytesPerSecond}`);
    }
    const cap = this.options.maxBytesPerSecond;
    if (!Number.isFinite(cap) || cap < 0) throw invalidArgument(`maxBytesPerSecond must be a number of bytes per second (0 for none), got ${cap}`);
    if (cap > 0 && cap < 1024) throw invalidArgument(`maxBytesPerSecond must be at least 1024 (1 KiB/s), got ${cap}`);
    this.rate = cap > 0 ? new RateLimit(cap) : undefined;
    this.limiter = new Limiter(this.options.maxInFlight);
  }

  /**
   * The range threads (the process's, shared by every engine with as many; started with the first range
   * read on them); undefined with threads 0, or without the native addon (its views are what they write into).
   */
  get threads(): RangeThreads | undefined {
    return this.options.threads === 0 || !binding ? undefined : RangeThreads.shared(this.options.threads);
  }

  governor(store: Store, loc: Location): Governor {
    let byHost = this.hosts.get(store);
    if (!byHost) this.hosts.set(store, (byHost = new Map()));
    const name = `${loc.scheme}://${loc.bucket}`;
    let g = byHost.get(name);
    if (!g) byHost.set(name, (g = new Governor(name, Math.min(this.options.maxInFlight, store.maxSockets ?? Infinity))));
    return g;
  }

  /** What the adaptive limit of each host read from has found: requests allowed and in flight, throttling, stragglers. */
  hostStats(): Array<{ host: string } & GovernorStats> {
    return [...this.hosts.values()].flatMap((m) => [...m.values()].map((g) => ({ host: g.name, ...g.stats })));
  }

  /** A request that is not a range (stat, a list page): under the retry policy, each attempt given up after stallTimeoutMs. */
  private request<T>(what: string, loc: Location, fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const ms = this.options.stallTimeoutMs;
    const attempt = () => withTimeout(fn, ms, signal, () => new RangepoolError('Timeout', `no answer to ${what} within ${ms} ms`, { uri: loc.uri }));
    return withRetries(attempt, this.options.retry, signal, (n, delay, e) => logRetry(n, what, loc.uri, delay, e)).catch((e) => {
      throw signal?.aborted ? (signal.reason instanceof RangepoolError ? signal.reason : abortedError(signal, loc.uri)) : e;
    });
  }

  stat(store: Store, loc: Location, signal?: AbortSignal): Promise<ObjectMeta> {
    return this.request('stat', loc, (s) => store.stat(loc, s), signal);
  }

  /**
   * The keys under `loc`, one page at a time; with `delimiter`, folders first on each page. The next page is
   * asked for as soon as one is handed over, so a caller working through a page (getMany's downloads) never
   * waits a list request's round trip at the page's end; one stopped early aborts it.
   */
  async *list(store: Store, loc: Location, signal?: AbortSignal, delimiter?: '/'): AsyncGenerator<ListEntry[], void, undefined> {
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const fetch = (at: string | undefined) => {
      const page = this.request('a list request', loc, (s) => store.listPage(loc, at, s, delimiter), stop.signal);
      page.catch(() => {}); // awaited below: a page asked ahead whose loop has ended fails nowhere
      return page;
    };
    try {
      let cursor: string | undefined;
      let next = fetch(undefined);
      for (;;) {
        const page = await next;
        if (page.next !== undefined && page.next === cursor) throw new RangepoolError('IntegrityError', 'the service answered a list page with the same cursor it was given', { uri: loc.uri });
        cursor = page.next;
        if (cursor !== undefined) next = fetch(cursor);
        yield [...(page.folders ?? []).map((key): ListEntry => ({ key, size: 0, folder: true })), ...page.entries];
        if (cursor === undefined) return;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop.abort(); // a page asked ahead that nobody will read
    }
  }

  /**
   * The object (or the span opts.offset/length) in one pooled buffer. With `meta` undefined, a store that
   * can (readFirst) learns it from the first ranged response instead of a stat in front.
   */
  async download(store: Store, loc: Location, meta: ObjectMeta | undefined, opts: DownloadOptions = {}): Promise<DownloadResult> {
    const { uri } = loc;
    const partSize = positiveInt(opts.partSize ?? this.options.partSize, 'partSize', uri, MIN_PART_SIZE);
    // Adaptive per host where a network is in between; a local file reads 8 ranges at once, as asked otherwise.
    const asked = opts.concurrency ?? this.options.concurrency ?? (store.transport === undefined ? FILE_CONCURRENCY : undefined);
    const concurrency = asked === undefined ? undefined : positiveInt(asked, 'concurrency', uri);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`offset must be a non-negative integer, got ${offset}`, uri);
    if (opts.length !== undefined && (!Number.isSafeInteger(opts.length) || opts.length < 0)) {
      throw invalidArgument(`length must be a non-negative integer, got ${opts.length}`, uri);
    }
    if (opts.spans && !meta) throw new RangepoolError('Internal', 'spans need the object meta first', { uri });
    const guided = opts.partSize === undefined && !this.partSizeAsked;
    return new Download(this, store, loc, opts.pool ?? defaultPool(), { ...opts, partSize, concurrency, guided }, meta).run();
  }
}
