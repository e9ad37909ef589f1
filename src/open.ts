// open(): a handle on one version of an object, for readers that come back for piece after piece (a
// Parquet reader, a safetensors loader, someone seeking through a file). Every read is pinned to the
// version open() saw; small reads go through a bounded cache that reads ahead, so the many small reads
// a footer parser makes cost one request.
import { resolve, defaultEngine, type GetOptions } from './api.js';
import type { RangeEngine } from './engine/engine.js';
import { rangesOf, type RangepoolRanges, type RangesOptions, type Span } from './get-ranges.js';
import { invalidArgument } from './errors.js';
import { defaultPool } from './pool/index.js';
import type { ObjectMeta, Store } from './stores/store.js';
import type { Location } from './uri.js';

export interface OpenOptions extends Pick<GetOptions, 'store' | 'storeOptions' | 'engine' | 'pool' | 'signal' | 'partSize' | 'concurrency'> {
  /** Bytes of small reads kept, copied out of the pool (least recently used dropped first). Default 1 MiB; 0 for none. */
  cacheBytes?: number | undefined;
  /** A read shorter than this fetches this much around it and keeps it (the object's last this-many bytes when it falls there). Default 64 KiB. */
  readAhead?: number | undefined;
}

/** Per-read options: an abort signal. */
export interface HandleReadOptions {
  signal?: AbortSignal | undefined;
}

export interface HandleStats {
  /** read(), readInto() and readRanges() calls. */
  reads: number;
  /** Of those, served from the cache. */
  cacheHits: number;
  /** Requests made to the service (ranged reads; open's stat not counted). */
  requests: number;
  /** Bytes received from the service. */
  bytesFetched: number;
}

interface Cached {
  start: number;
  bytes: Buffer;
}

export class ObjectHandle implements AsyncDisposable {
  readonly stats: HandleStats = { reads: 0, cacheHits: 0, requests: 0, bytesFetched: 0 };
  private readonly cache: Cached[] = [];
  private cached = 0;
  private closed = false;

  constructor(
    readonly uri: string,
    /** What open() saw: every read is held to it (a change is PreconditionFailed). */
    readonly meta: ObjectMeta,
    private readonly loc: Location,
    private readonly store: Store,
    private readonly engine: RangeEngine,
    private readonly opts: OpenOptions & { cacheBytes: number; readAhead: number },
  ) {}

  get size(): number {
    return this.meta.size;
  }

  get etag(): string | undefined {
    return this.meta.etag;
  }

  get generation(): string | undefined {
    return this.meta.generation;
  }

  /** `length` bytes from `offset` in a pooled Buffer (release() it, or leave it to the GC). */
  async read(offset: number, length: number, ropts: HandleReadOptions = {}): Promise<Buffer> {
    this.check(offset, length);
    let hit = this.fromCache(offset, length);
    if (!hit && length < this.opts.readAhead && this.opts.cacheBytes > 0) hit = await this.fill(offset, ropts.signal);
    if (!hit) return this.fetch(offset, length, undefined, ropts.signal);
    const out = await (this.opts.pool ?? defaultPool()).acquire(length, { signal: ropts.signal });
    hit.bytes.copy(out, 0, offset - hit.start, offset - hit.start + length);
    return out;
  }

  /** Fills `target` with the bytes from `offset` (target.length of them, which must exist); no pooled memory used. */
  async readInto(target: Buffer, offset: number, ropts: HandleReadOptions = {}): Promise<Buffer> {
    if (!Buffer.isBuffer(target)) throw invalidArgument('readInto needs a Buffer to fill', this.uri);
    this.check(offset, target.length);
    const hit = this.fromCache(offset, target.length);
    if (hit) {
      hit.bytes.copy(target, 0, offset - hit.start, offset - hit.start + target.length);
      return target;
    }
    await this.fetch(offset, target.length, target, ropts.signal);
    return target;
  }

  /** Many spans at once, coalesced, as getRanges() (pinned to this handle's version; the cache is not used). */
  async readRanges(spans: ReadonlyArray<Span>, ropts: HandleReadOptions & Pick<RangesOptions, 'coalesce'> = {}): Promise<RangepoolRanges> {
    this.check(0, 0);
    const r = await rangesOf(this.engine, this.store, this.loc, this.meta, spans, { ...this.downloadOptions(ropts.signal), coalesce: ropts.coalesce });
    this.count(r.stats?.requests ?? 0, r.stats?.bytes ?? 0);
    return r;
  }

  /** Drops the cache; later reads fail with InvalidArgument. */
  async close(): Promise<void> {
    this.closed = true;
    this.cache.length = 0;
    this.cached = 0;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Counts a read and refuses a closed handle or a span outside the object. */
  private check(offset: number, length: number): void {
    if (this.closed) throw invalidArgument('the handle is closed', this.uri);
    this.stats.reads++;
    for (const [n, name] of [
      [offset, 'offset'],
      [length, 'length'],
    ] as const) {
      if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${name} must be a non-negative whole number, got ${n}`, this.uri);
    }
    if (offset + length > this.size) throw invalidArgument(`${offset}+${length} runs past the end of the object (${this.size} bytes)`, this.uri);
  }

  private downloadOptions(signal: AbortSignal | undefined) {
    const { pool, partSize, concurrency } = this.opts;
    return { pool, partSize, concurrency, signal: signal ?? this.opts.signal };
  }

  private count(requests: number, bytes: number): void {
    this.stats.requests += requests;
    this.stats.bytesFetched += bytes;
  }

  /** One span from the service, pinned to `meta`, into `into` or a pooled buffer. */
  private async fetch(offset: number, length: number, into: Buffer | undefined, signal: AbortSignal | undefined): Promise<Buffer> {
    const { buffer, stats } = await this.engine.download(this.store, this.loc, this.meta, { ...this.downloadOptions(signal), offset, length, into });
    this.count(stats.requests, length);
    return buffer;
  }

  private fromCache(offset: number, length: number): Cached | undefined {
    const i = this.cache.findIndex((c) => offset >= c.start && offset + length <= c.start + c.bytes.length);
    if (i < 0) return undefined;
    const [hit] = this.cache.splice(i, 1);
    this.cache.push(hit!); // most recently used last
    this.stats.cacheHits++;
    return hit;
  }

  /** Reads ahead around `offset` into the cache (the tail of the object when it falls there, else from it); the entry holds any read shorter than readAhead at `offset`. */
  private async fill(offset: number, signal: AbortSignal | undefined): Promise<Cached> {
    const window = Math.min(this.opts.readAhead, this.size);
    const start = offset >= this.size - window ? this.size - window : offset;
    const bytes = Buffer.allocUnsafe(Math.min(window, this.size - start));
    await this.fetch(start, bytes.length, bytes, signal);
    const entry = { start, bytes };
    this.cache.push(entry);
    this.cached += bytes.length;
    while (this.cached > this.opts.cacheBytes && this.cache.length > 1) this.cached -= this.cache.shift()!.bytes.length;
    return entry;
  }
}

/** A handle on the object at `uri` as it is now (one stat); see ObjectHandle. */
export async function open(uri: string, opts: OpenOptions = {}): Promise<ObjectHandle> {
  const cacheBytes = opts.cacheBytes ?? 1024 * 1024;
  const readAhead = opts.readAhead ?? 64 * 1024;
  for (const [n, name] of [
    [cacheBytes, 'cacheBytes'],
    [readAhead, 'readAhead'],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${name} must be a non-negative whole number of bytes, got ${n}`, uri);
  }
  const { loc, store } = await resolve(uri, opts);
  const engine = opts.engine ?? defaultEngine();
  const meta = await engine.stat(store, loc, opts.signal);
  return new ObjectHandle(uri, meta, loc, store, engine, { ...opts, cacheBytes, readAhead });
}
