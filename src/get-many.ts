// getMany(): many objects (a list of URIs, or every object under a prefix, listed page by page as
// needed) with a bound on objects in flight. Every object goes through the one engine, so its in-flight
// range limit holds across all of them, and the pool's cap across their buffers.
import { setMaxListeners } from 'node:events';
import { basename, dirname } from 'node:path';
import { defaultEngine, getObject, listEach, rememberListed, type GetOptions, type RangepoolObject } from './api.js';
import { download, type DownloadFileOptions } from './download-to-file.js';
import { RangepoolError, abortedError, invalidArgument, printable } from './errors.js';
import { READ_AHEAD_PARTS } from './engine/chunks.js';
import type { DownloadStats } from './engine/types.js';
import { asFolder, pathUnder, relativeKey } from './files/paths.js';
import { checkTargetName } from './files/part-file.js';
import { redactUri } from './redact.js';
import { defaultPool } from './pool/index.js';
import type { ListEntry, ObjectMeta } from './stores/store.js';
import { keyPath, parseUri } from './uri.js';

export interface ManyOptions extends Omit<GetOptions, 'offset' | 'length' | 'ifMatch' | 'onProgress'> {
  /**
   * Objects in flight at once. Default: as many as fit in half the pool's cap (each at its listed size, or
   * with `to` at most its read-ahead window), 1–64; with sizes unknown (a list of URIs), 8 until objects
   * have come back, then as many as fit at their average size. Their requests share the host's adaptive
   * limit, and an object waiting for a slot holds no memory yet.
   */
  objects?: number | undefined;
  /** Yield in input (or listing) order instead of completion order. Default false. */
  ordered?: boolean | undefined;
  /** Throw the first failure (after stopping the rest) instead of yielding it. Default false. */
  failFast?: boolean | undefined;
  /** Write each object to a file under this directory (its key below the prefix) instead of into memory. */
  to?: string | undefined;
  /** With `to`: see download(). */
  fsync?: DownloadFileOptions['fsync'] | undefined;
  direct?: DownloadFileOptions['direct'] | undefined;
  readAhead?: DownloadFileOptions['readAhead'] | undefined;
  resume?: DownloadFileOptions['resume'] | undefined;
  /** With `to`: each file's checksum as written (see download()), in its result as `digest`. */
  digest?: DownloadFileOptions['digest'] | undefined;
  /**
   * With a prefix: which listed objects to fetch, asked of each before it is (false skips it). It sees the
   * listing's entry, its key below the prefix (`relative`) and, with `to`, the path it would be written to.
   */
  filter?: ((entry: ListEntry & { relative: string; path?: string | undefined }) => boolean | Promise<boolean>) | undefined;
  /** Called as each object's bytes arrive: which object, its bytes so far and its size. */
  onProgress?: ((p: { uri: string; bytes: number; total: number }) => void) | undefined;
}

/** One object's outcome. In memory: `buffer` (pooled; release it). With `to`: `path`. On failure: `error`. */
export type ManyResult =
  | { uri: string; buffer: Buffer; path?: undefined; meta: ObjectMeta; stats: DownloadStats; digest?: undefined; error?: undefined }
  | { uri: string; buffer?: undefined; path: string; meta: ObjectMeta; stats: DownloadStats; digest?: string | undefined; error?: undefined }
  | { uri: string; error: RangepoolError; buffer?: undefined; path?: undefined; digest?: undefined };

interface Source {
  uri: string;
  size?: number;
  /** What the listing said of it. */
  listed?: ListEntry;
  /** Where it goes, with `to`. */
  path?: string;
  /** Why it is not fetched (a key with no safe path under `to`). */
  error?: RangepoolError;
}

/** The URI of `key`, listed under `prefix` (keys are paths on file://, as parseUri reads them back). */
function uriOf(prefix: string, key: string): string {
  const { scheme, bucket } = parseUri(prefix, { prefix: true });
  return scheme === 'file' || scheme === 'direct' ? `${scheme}://${key.replace(/%/g, '%25')}` : `${scheme}://${bucket}/${key}`;
}

/**
 * Where each object goes under `to`, and why one cannot: two objects never share a path (a later one is
 * refused, naming the first), a key that needs a folder where another object's file is (or the reverse:
 * `f` and `f/g`) is refused, and so is a name kept for temporary files. The same object twice (a listing
 * that repeats a key) is written once.
 */
class Placement {
  private readonly files = new Map<string, string>();
  /** Folders the placed files need, and the object that first needed each. */
  private readonly folders = new Map<string, string>();

  constructor(private readonly to: string | undefined) {}

  /** The source with its path, or its error; undefined when the same object was placed already. */
  place(source: Source, prefix: string, key: string): Source | undefined {
    const to = this.to;
    if (to === undefined) return source;
    const fail = (why: string) => ({ ...source, error: invalidArgument(why, source.uri) });
    let path: string;
    try {
      path = pathUnder(to, prefix, key);
      checkTargetName(path);
    } catch (e) {
      return fail((e as RangepoolError).message);
    }
    const first = this.files.get(path);
    if (first === source.uri) return undefined;
    if (first !== undefined) return fail(`${printable(path)} is where ${redactUri(first)} is written: two objects cannot have one path, so this one is not written`);
    const folderOf = this.folders.get(path);
    if (folderOf !== undefined) return fail(`${printable(path)} is a folder of ${redactUri(folderOf)}: this object cannot be a file there, so it is not written`);
    const parents: string[] = [];
    for (let dir = dirname(path); dir.length > to.length && dir.startsWith(to); dir = dirname(dir)) {
      const file = this.files.get(dir);
      if (file !== undefined) return fail(`${printable(dir)} is the file of ${redactUri(file)}: it cannot be a folder too, so this object is not written`);
      parents.push(dir);
    }
    this.files.set(path, source.uri);
    for (const dir of parents) if (!this.folders.has(dir)) this.folders.set(dir, source.uri);
    return { ...source, path };
  }
}

async function* sources(from: string | Iterable<string> | AsyncIterable<string>, opts: ManyOptions): AsyncGenerator<Source> {
  const placement = new Placement(opts.to);
  if (typeof from !== 'string') {
    for await (const uri of from) {
      const placed = placement.place({ uri }, '', basename(keyPath(parseUri(uri))));
      if (placed) yield placed;
    }
    return;
  }
  // A prefix is a folder: s3://b/data lists data/..., never datax.parquet (as aws s3 cp --recursive).
  const loc = parseUri(from, { prefix: true });
  const prefix = asFolder(loc.key);
  const folder = prefix === loc.key ? from : `${from}/`;
  for await (const entry of listEach(folder, opts)) {
    const uri = uriOf(folder, entry.key);
    if (entry.key.endsWith('/')) {
      // A "folder" marker; one that holds bytes has no file name to be written to, and is said so.
      if (entry.size > 0 && opts.to !== undefined) yield { uri, error: invalidArgument(`the key ends in a slash (a folder) but holds ${entry.size} bytes: it has no file name, so it is not written`, uri) };
      continue;
    }
    const source = placement.place({ uri, size: entry.size, listed: entry }, prefix, entry.key);
    if (!source) continue;
    if (!source.error && opts.filter && !(await opts.filter({ ...entry, relative: relativeKey(prefix, entry.key), path: source.path }))) continue;
    yield source;
  }
}


/**
 * Many objects: a list of URIs, or every object under a prefix URI (listed page by page as the loop asks).
 * Yields each object's outcome as it finishes (`ordered` for input order): in memory `{ buffer }` (release
 * it), with `to` a file `{ path }`, on failure `{ error }` (the rest go on, unless `failFast`). Breaking out
 * of the loop, or `signal`, stops what is in flight and returns every buffer not yet handed over.
 */
export async function* getMany(from: string | Iterable<string> | AsyncIterable<string>, opts: ManyOptions = {}): AsyncGenerator<ManyResult, void, undefined> {
  if (opts.objects !== undefined && (!Number.isSafeInteger(opts.objects) || opts.objects < 1)) throw invalidArgument(`objects must be a positive integer, got ${opts.objects}`);
  const pool = opts.pool ?? defaultPool();
  const budget = pool.maxBytes / 2;
  // What one object holds at most: its size in memory; to a file, no more than the read-ahead window.
  const engine = opts.engine ?? defaultEngine();
  const window = opts.readAhead ?? (opts.concurrency ?? engine.options.concurrency ?? READ_AHEAD_PARTS) * (opts.partSize ?? engine.options.partSize);
  // Sizes seen so far, for objects whose size is not known before they come back.
  let seen = 0;
  let seenBytes = 0;
  const cost = (s: Source) => {
    const size = s.size ?? (seen > 0 ? seenBytes / seen : undefined);
    return size === undefined ? undefined : s.path !== undefined ? Math.min(size, window) : size;
  };
  const stop = new AbortController();
  // Each object in flight (up to 128) listens to it until it ends: many, by design, not a leak.
  setMaxListeners(0, stop.signal);
  const onCallerAbort = () => stop.abort(abortedError(opts.signal!));
  if (opts.signal?.aborted) throw abortedError(opts.signal);
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const { to, fsync, direct, readAhead, resume, digest, objects, ordered, failFast, onProgress, filter: _filter, ...getOpts } = opts;
  const fetch = async (s: Source): Promise<ManyResult> => {
    const progress = onProgress && ((p: { bytes: number; total: number }) => onProgress({ uri: s.uri, ...p }));
    try {
      if (s.path !== undefined) {
        const r = await download(s.uri, s.path, { ...getOpts, pool, fsync, direct, readAhead, resume, digest, createDirs: true, signal: stop.signal, onProgress: progress });
        return { uri: s.uri, path: r.path, meta: r.meta, stats: r.stats, ...(r.digest ? { digest: r.digest } : {}) };
      }
      // The listed size and ETag let the buffer be acquired before any response (not with verify: a listing has no checksums).
      if (s.listed && (getOpts.cache ?? true) && !getOpts.verify) rememberListed(s.uri, getOpts.storeOptions, s.listed);
      const r: RangepoolObject = await getObject(s.uri, { ...getOpts, pool, signal: stop.signal, onProgress: progress });
      return { uri: s.uri, buffer: r.buffer, meta: r.meta, stats: r.stats };
    } catch (e) {
      // Every failure names its object (a local fault names only the path).
      const error = !(e instanceof RangepoolError)
        ? new RangepoolError('Internal', `unexpected error: ${(e as Error)?.message}`, { uri: s.uri, cause: e })
        : e.uri === undefined
          ? new RangepoolError(e.code, e.message, { uri: s.uri, cause: e.cause, retryable: e.retryable, throttled: e.throttled })
          : e;
      return { uri: s.uri, error };
    }
  };

  const running: Array<{ size: number; result: Promise<ManyResult> }> = [];
  let inFlightBytes = 0;
  const input = sources(from, { ...opts, signal: stop.signal })[Symbol.asyncIterator]();
  let pending: Source | undefined;
  let exhausted = false;
  // By default at most the engine's request ceiling (maxInFlight, 128) of objects: objects of one request
  // each are then as many as the host's adaptive limit may allow, and it shares out their requests. (64 held
  // 10,000 objects of 1 KiB on the shaped network to 6.45 s; 128 takes 4.27 s, 256 no less.)
  const room = (bytes: number | undefined) =>
    running.length === 0 || (objects !== undefined ? running.length < objects : bytes !== undefined ? running.length < engine.options.maxInFlight && inFlightBytes + bytes <= budget : running.length < 8);
  const start = async () => {
    while (!exhausted) {
      if (!pending) {
        const n = await input.next();
        if (n.done) {
          exhausted = true;
          break;
        }
        pending = n.value;
      }
      if (!room(cost(pending))) break;
      const s = pending;
      pending = undefined;
      const size = cost(s) ?? 0;
      const entry: (typeof running)[number] = { size, result: s.error ? Promise.resolve({ uri: s.uri, error: s.error }) : fetch(s) };
      inFlightBytes += size;
      running.push(entry);
    }
  };

  let done = false;
  try {
    for (;;) {
      await start();
      if (running.length === 0) break;
      const i = ordered ? 0 : await Promise.race(running.map((r, k) => r.result.then(() => k)));
      const [entry] = running.splice(i, 1);
      const result = await entry!.result;
      inFlightBytes -= entry!.size;
      if (!result.error) {
        seen++;
        seenBytes += result.meta.size;
      }
      if (opts.signal?.aborted) {
        if (result.buffer) pool.release(result.buffer);
        throw abortedError(opts.signal);
      }
      if (result.error && failFast) throw result.error;
      yield result;
    }
    done = true;
  } finally {
    opts.signal?.removeEventListener('abort', onCallerAbort);
    if (!done) {
      stop.abort(opts.signal?.aborted ? abortedError(opts.signal) : new RangepoolError('Aborted', 'the reader stopped'));
      for (const r of await Promise.all(running.map((e) => e.result))) if (r.buffer) pool.release(r.buffer);
      await input.return?.(undefined);
    }
  }
}
