// stream(): an object of any size as a Readable of pooled chunks in order, fetched as ranges with a
// bounded read-ahead. Memory stays at the read-ahead window whatever the object's size.
import { Readable } from 'node:stream';
import { defaultEngine, metaCache, resolve, type GetOptions } from './api.js';
import { READ_AHEAD_PARTS, addStats, chunksInOrder, emptyStats } from './engine/chunks.js';
import { canPinRanges } from './engine/pin.js';
import type { DownloadStats } from './engine/types.js';
import { defaultPool } from './pool/index.js';
import type { ObjectMeta } from './stores/store.js';

export interface StreamOptions extends Pick<GetOptions, 'store' | 'storeOptions' | 'engine' | 'pool' | 'signal' | 'onProgress' | 'partSize' | 'concurrency' | 'verify' | 'offset' | 'length'> {
  /**
   * Bytes fetched ahead of the reader, the chunk it holds included: the memory a stream uses. Default
   * concurrency × partSize (8 × 16 MiB); chunks are one part each, so this many / partSize are in flight.
   */
  readAhead?: number | undefined;
  /** @internal A span running past the end of the object ends at its end (the CLI's --range, as curl -r). */
  clampToSize?: boolean | undefined;
}

/**
 * The object's bytes in order. Two ways to read it:
 * - `for await (const chunk of stream(uri))`: each chunk is a pooled block, valid until the loop body
 *   returns; then it goes back to the pool (copy what you keep). The pool's in-use bytes never exceed
 *   `readAhead`. Breaking out of the loop stops every fetch.
 * - as a Readable (`pipe`, `pipeline`, 'data'): chunks are handed over for good, so a write still in
 *   progress can never see recycled memory; each comes back to the pool when garbage-collected.
 * A failure (or a checksum mismatch with `verify`) is an 'error' instead of 'end'.
 */
export class ObjectStream extends Readable {
  /** What the object is, once the stream has started. */
  meta: ObjectMeta | undefined;
  /** Totals so far (bytes, requests, retries, connections, ...), once the stream has started. */
  stats: DownloadStats | undefined;
  private chunks: AsyncGenerator<Buffer, void, undefined> | undefined;
  private mode: 'readable' | 'iterator' | undefined;

  constructor(
    readonly uri: string,
    private readonly opts: StreamOptions = {},
  ) {
    super({ highWaterMark: 0 }); // the read-ahead is the chunk pipeline's, not a second buffer here
  }

  private async *open(keepChunks: boolean): AsyncGenerator<Buffer, void, undefined> {
    const { loc, store, cacheKey } = await resolve(this.uri, this.opts);
    const engine = this.opts.engine ?? defaultEngine();
    const partSize = this.opts.partSize ?? engine.options.partSize;
    const pool = this.opts.pool ?? defaultPool();
    const stats = (this.stats = emptyStats(store.transport));
    const started = performance.now();
    const readAhead = this.opts.readAhead ?? (this.opts.concurrency ?? engine.options.concurrency ?? READ_AHEAD_PARTS) * partSize;
    let offset = this.opts.offset ?? 0;
    let length = this.opts.length;
    let meta: ObjectMeta;
    let progress = this.opts.onProgress;
    if (this.opts.verify) {
      // The checksum to compute as chunks land is known only from what the object is: a stat first.
      meta = await engine.stat(store, loc, this.opts.signal);
    } else {
      // As get() starts: the first chunk's response says what the object is, with no request in front.
      const first = await engine.download(store, loc, undefined, { pool, signal: this.opts.signal, offset, length: Math.min(partSize, length ?? partSize), clampToSize: true, firstResponseOnly: true, partSize, concurrency: this.opts.concurrency, onProgress: this.opts.onProgress });
      meta = first.meta;
      const whole = length === undefined || this.opts.clampToSize ? Math.min(length ?? Infinity, meta.size - offset) : length;
      if (first.buffer.length < whole && !canPinRanges(meta, store)) {
        // Nothing holds a second request to this version: the whole span again, in one request.
        pool.release(first.buffer);
      } else {
        this.meta = meta;
        metaCache.set(cacheKey, meta);
        addStats(stats, first.stats);
        stats.connections = 1;
        // A server that ignores ranges sent the whole object: only the span asked for is handed over.
        const chunk = first.buffer.length > whole ? first.buffer.subarray(0, whole) : first.buffer;
        const before = chunk.length;
        offset += before;
        length = whole - before;
        const onProgress = this.opts.onProgress;
        if (onProgress) progress = (p) => onProgress({ bytes: before + p.bytes, total: before + p.total });
        const done = length === 0;
        if (keepChunks) yield chunk;
        else {
          try {
            yield chunk;
          } finally {
            pool.release(first.buffer);
          }
        }
        if (done) return this.finish(stats, started);
      }
    }
    this.meta = meta;
    metaCache.set(cacheKey, meta);
    yield* chunksInOrder(engine, store, loc, meta, { ...this.opts, offset, length, pool, partSize, stats, readAhead, onProgress: progress }, keepChunks);
    this.finish(stats, started);
  }

  private finish(stats: DownloadStats, started: number): void {
    stats.elapsedMs = performance.now() - started;
    stats.bytesPerSecond = stats.elapsedMs > 0 ? (stats.bytes / stats.elapsedMs) * 1000 : 0;
  }

  override _read(): void {
    if (this.mode === 'iterator') return void this.destroy(new TypeError('this stream is read by its async iterator'));
    this.mode = 'readable';
    this.chunks ??= this.open(true);
    this.chunks.next().then(
      ({ value, done }) => void this.push(done ? null : value),
      (e: unknown) => this.destroy(e as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const chunks = this.mode === 'readable' ? this.chunks : undefined;
    if (!chunks) return callback(error);
    chunks.return().then(
      () => callback(error),
      () => callback(error),
    );
  }

  override [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    if (this.mode === 'readable') throw new TypeError('this stream is already being read as a Readable');
    this.mode = 'iterator';
    return (this.chunks ??= this.open(false));
  }
}

/** The object's bytes in order, as pooled chunks with bounded read-ahead: see ObjectStream. */
export function stream(uri: string, opts: StreamOptions = {}): ObjectStream {
  return new ObjectStream(uri, opts);
}
