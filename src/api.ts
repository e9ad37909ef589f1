// The drop-in API: get(), getRange(), getObject(), stat(), list(). Policy that spans a whole call
// (the object-size cache, the one restart on a changed object) lives here; the engine does the ranges.
import { MetaCache } from './cache.js';
import { RangeEngine, type DownloadOptions, type DownloadStats } from './engine/engine.js';
import { strongValidator } from './engine/pin.js';
import { RangepoolError, isRangepoolError } from './errors.js';
import { release } from './pool/index.js';
import { optionsKey } from './stores/options-key.js';
import { storeFor, type StoreOptions } from './stores/registry.js';
import type { ListEntry, ObjectMeta, Store } from './stores/store.js';
import { parseUri } from './uri.js';

export interface GetOptions extends DownloadOptions {
  /** A store to use instead of the one storeFor(uri, storeOptions) gives. */
  store?: Store | undefined;
  storeOptions?: StoreOptions | undefined;
  /** Default: the shared engine (its in-flight limit is shared by every call). */
  engine?: RangeEngine | undefined;
  /** Fail with PreconditionFailed unless the object's ETag is this one. */
  ifMatch?: string | undefined;
  /** When the object changes during the download, start once more against the new version. Default false. */
  restartOnChange?: boolean | undefined;
  /** Use the object-size cache (default true). */
  cache?: boolean | undefined;
}

/** What getObject() returns: `using obj = await getObject(uri)` releases the buffer at scope end. */
export interface RangepoolObject extends Disposable {
  readonly buffer: Buffer;
  readonly meta: ObjectMeta;
  readonly stats: DownloadStats;
}

let sharedEngine: RangeEngine | undefined;
/** The engine every call shares unless given another (16 MiB parts, 8 per object, 64 in flight). */
export function defaultEngine(): RangeEngine {
  return (sharedEngine ??= new RangeEngine());
}

export const metaCache = new MetaCache();

/** The store for a URI and the key of its size-cache entry. */
export async function resolve(uri: string, opts: Pick<GetOptions, 'store' | 'storeOptions'>) {
  const loc = parseUri(uri);
  const store = opts.store ?? (await storeFor(loc, opts.storeOptions));
  return { loc, store, cacheKey: `${loc.uri}|${optionsKey(opts.storeOptions)}` };
}

/**
 * What a listing said of an object, remembered like a stat (an S3 or Azure entry with a strong ETag), so
 * a get() of it acquires its buffer and starts every range at once, pinned to that ETag, instead of
 * learning the size from a first response. A stale entry is caught by the pin and dropped, as any.
 */
export function rememberListed(uri: string, storeOptions: GetOptions['storeOptions'], entry: ListEntry): void {
  const loc = parseUri(uri);
  if ((loc.scheme !== 's3' && loc.scheme !== 'az') || !strongValidator(entry)) return;
  metaCache.set(`${loc.uri}|${optionsKey(storeOptions)}`, { size: entry.size, etag: entry.etag, lastModified: entry.lastModified });
}

/**
 * The object (or `offset`/`length` of it) as `{ buffer, meta, stats }`: a pooled buffer of exactly its
 * bytes, what the object is (size, ETag or generation, checksums), and how the download went (requests,
 * retries, connections, stragglers, first-byte time). `using obj = await getObject(uri)` releases the
 * buffer at the end of the scope. Rejects with a RangepoolError; the pool is then as it was.
 */
export async function getObject(uri: string, opts: GetOptions = {}): Promise<RangepoolObject> {
  const { loc, store, cacheKey } = await resolve(uri, opts);
  const engine = opts.engine ?? defaultEngine();
  // Files are never cached: stat is cheap, and a file replaced by a larger one must not come back as a prefix.
  const useCache = (opts.cache ?? true) && loc.scheme !== 'file' && loc.scheme !== 'direct';
  let restarts = 0;
  for (;;) {
    // Without a cached meta, the engine learns it from the first ranged response (or a stat, where the store needs one).
    const cached = useCache ? metaCache.get(cacheKey) : undefined;
    try {
      if (cached && opts.ifMatch !== undefined && cached.etag !== opts.ifMatch) {
        throw new RangepoolError('PreconditionFailed', `ETag is ${cached.etag}, not ${opts.ifMatch}`, { uri });
      }
      const { buffer, meta, stats } = await engine.download(store, loc, cached, opts);
      if (!cached && useCache) metaCache.set(cacheKey, meta);
      return { buffer, meta, stats, [Symbol.dispose]: () => release(buffer) };
    } catch (e) {
      if (!isRangepoolError(e, 'PreconditionFailed')) throw e;
      metaCache.delete(cacheKey);
      // A stale cache entry is ours to fix; a change during the download restarts only if asked to.
      if (cached || (opts.restartOnChange && restarts++ === 0)) continue;
      throw e;
    }
  }
}

/** The object's bytes in a pooled Buffer of exactly its size. */
export async function get(uri: string, opts: GetOptions = {}): Promise<Buffer> {
  return (await getObject(uri, opts)).buffer;
}

/** `length` bytes from `offset` (to the end when length is omitted), in a pooled Buffer. */
export async function getRange(uri: string, offset: number, length?: number, opts: GetOptions = {}): Promise<Buffer> {
  return (await getObject(uri, { ...opts, offset, length })).buffer;
}

/** Size, ETag/generation, checksums and last-modified, fresh from the service. */
export async function stat(uri: string, opts: Pick<GetOptions, 'store' | 'storeOptions' | 'signal' | 'engine'> = {}): Promise<ObjectMeta> {
  const { loc, store, cacheKey } = await resolve(uri, opts);
  const meta = await (opts.engine ?? defaultEngine()).stat(store, loc, opts.signal);
  metaCache.set(cacheKey, meta);
  return meta;
}

type ListOptions = Pick<GetOptions, 'store' | 'storeOptions' | 'signal' | 'engine'> & {
  /** '/': list one level, as aws s3 ls does: keys below a further '/' come as one folder entry each (`folder: true`). */
  delimiter?: '/' | undefined;
};

/**
 * Objects under a prefix URI (s3://bucket/prefix, file:///dir/), page by page as the loop asks for them:
 * each page retried and timed out like any request, its body bounded.
 */
export async function* listEach(prefixUri: string, opts: ListOptions = {}): AsyncGenerator<ListEntry, void, undefined> {
  const loc = parseUri(prefixUri, { prefix: true });
  const store = opts.store ?? (await storeFor(loc, opts.storeOptions));
  for await (const page of (opts.engine ?? defaultEngine()).list(store, loc, opts.signal, opts.delimiter)) yield* page;
}

/** Every object under a prefix URI, in one array. */
export async function list(prefixUri: string, opts: ListOptions = {}): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  for await (const entry of listEach(prefixUri, opts)) out.push(entry);
  return out;
}
