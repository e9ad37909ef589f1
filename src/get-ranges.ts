// getRanges(): many spans of one object, one version, few requests. Spans closer than `coalesce` bytes
// are merged, merged spans are split into parts as get() splits an object, and every span comes back as a
// view into one pooled buffer, in the caller's order, released together.
import { resolve, defaultEngine, metaCache, type GetOptions } from './api.js';
import { coalesce, type Span } from './engine/coalesce.js';
import { canPinRanges } from './engine/pin.js';
import type { RangeEngine } from './engine/engine.js';
import type { DownloadStats } from './engine/types.js';
import { RangepoolError, invalidArgument, isRangepoolError, printable } from './errors.js';
import { release } from './pool/index.js';
import type { ObjectMeta, Store } from './stores/store.js';
import type { Location } from './uri.js';

export type { Span } from './engine/coalesce.js';

export interface RangesOptions extends Omit<GetOptions, 'offset' | 'length' | 'restartOnChange' | 'crc'> {
  /** Spans with at most this many bytes between them are fetched in one request. Default 1 MiB. */
  coalesce?: number | undefined;
}

/** What getRanges() returns: `using r = await getRanges(...)` releases every view at scope end. */
export interface RangepoolRanges extends Disposable {
  /** One view per span asked for, in the order asked; all over one pooled block. */
  readonly buffers: Buffer[];
  readonly meta: ObjectMeta;
  /** Of the requests made (absent when every span was empty). */
  readonly stats: DownloadStats | undefined;
  /** Returns the memory behind every view at once (each view then reads as empty). */
  release(): void;
}

export const DEFAULT_COALESCE = 1024 * 1024;

function checkSpans(spans: ReadonlyArray<Span>, uri: string): void {
  if (!Array.isArray(spans)) throw invalidArgument('ranges must be an array of [offset, length] pairs', uri);
  spans.forEach((s, i) => {
    const ok = Array.isArray(s) && s.length === 2 && s.every((n) => Number.isSafeInteger(n) && n >= 0);
    if (!ok) throw invalidArgument(`ranges[${i}] must be [offset, length] with non-negative whole numbers, got ${printable(JSON.stringify(s) ?? String(s))}`, uri);
  });
}

/** The spans of `uri` asked for, each [offset, length], from one version of the object. */
export async function getRanges(uri: string, spans: ReadonlyArray<Span>, opts: RangesOptions = {}): Promise<RangepoolRanges> {
  checkSpans(spans, uri); // before any request
  const { loc, store, cacheKey } = await resolve(uri, opts);
  const engine = opts.engine ?? defaultEngine();
  const useCache = (opts.cache ?? true) && loc.scheme !== 'file' && loc.scheme !== 'direct';
  for (;;) {
    const cached = useCache ? metaCache.get(cacheKey) : undefined;
    const meta = cached ?? (await engine.stat(store, loc, opts.signal));
    try {
      if (opts.ifMatch !== undefined && meta.etag !== opts.ifMatch) {
        throw new RangepoolError('PreconditionFailed', `ETag is ${printable(meta.etag ?? 'missing')}, not ${opts.ifMatch}`, { uri });
      }
      const r = await rangesOf(engine, store, loc, meta, spans, opts);
      if (!cached && useCache) metaCache.set(cacheKey, meta);
      return r;
    } catch (e) {
      // A stale cached meta is ours to fix: once more with a fresh stat.
      if (!cached || !isRangepoolError(e, 'PreconditionFailed')) throw e;
      metaCache.delete(cacheKey);
    }
  }
}

/** The spans of the object version `meta`, coalesced and fetched (getRanges and a handle's readRanges). */
export async function rangesOf(engine: RangeEngine, store: Store, loc: Location, meta: ObjectMeta, spans: ReadonlyArray<Span>, opts: RangesOptions): Promise<RangepoolRanges> {
  const gap = opts.coalesce ?? DEFAULT_COALESCE;
  if (!Number.isSafeInteger(gap) || gap < 0) throw invalidArgument(`coalesce must be a non-negative whole number of bytes, got ${gap}`, loc.uri);
  checkSpans(spans, loc.uri);
  spans.forEach(([offset, length], i) => {
    if (offset + length > meta.size) throw invalidArgument(`ranges[${i}] (${offset}+${length}) runs past the end of the object (${meta.size} bytes)`, loc.uri);
  });
  // Without a validator that proves two responses are one version, every span comes from one request,
  // into a buffer of its own (the one merged span then starts at 0, not at its offset modulo 8).
  const pinned = canPinRanges(meta, store);
  const { merged, at } = coalesce(spans, pinned ? gap : Infinity);
  if (merged.length === 0) {
    const none = spans.map(() => Buffer.alloc(0));
    return { buffers: none, meta, stats: undefined, release: () => {}, [Symbol.dispose]: () => {} };
  }
  const base = pinned ? 0 : merged[0]!.at;
  const span = pinned ? { spans: merged } : { offset: merged[0]!.start, length: merged[0]!.length };
  const { buffer, stats } = await engine.download(store, loc, meta, { ...opts, ...span });
  const buffers = spans.map(([, length], i) => buffer.subarray(at[i]! - base, at[i]! - base + length));
  const done = () => release(buffer);
  return { buffers, meta, stats, release: done, [Symbol.dispose]: done };
}
