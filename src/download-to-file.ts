// download(): an object of any size to a file. A regular file is written through its temporary
// (files/part-file.ts) by position, in blocks as they fill, the writes on libuv's pool: ranges never wait
// for the ones before them, socket reads never wait for the disk, and memory is a small landing ring per
// request in flight (engine/ring.ts; a block of the request's size where rings do not apply). No request is made before
// the first range: its response says what the object is (as get() does). A FIFO, device or socket is
// written in order instead, chunk by chunk. The file appears under its name only once complete.
import { fstatSync } from 'node:fs';
import { defaultEngine, metaCache, resolve } from './api.js';
import { READ_AHEAD_PARTS, chunksInOrder, emptyStats } from './engine/chunks.js';
import { checksumFor } from './engine/checksum.js';
import { canPinRanges } from './engine/pin.js';
import { landsInRings } from './engine/download.js';
import type { DownloadStats } from './engine/types.js';
import { RangepoolError, invalidArgument, isRangepoolError, printable } from './errors.js';
import { Digester, fileDigest, sameDigest, type Digest } from './files/digest.js';
import { DIRECT_UNIT } from './files/direct-io.js';
import { fileMatches } from './files/file-checksum.js';
import { localError, outputTarget, writeInPlace, type OutputFileOptions } from './files/output-file.js';
import { PartFile, checkTargetName, objectIdentity } from './files/part-file.js';
import { defaultPool } from './pool/index.js';
import type { StreamOptions } from './stream.js';
import type { ObjectMeta } from './stores/store.js';

export interface DownloadFileOptions extends StreamOptions, OutputFileOptions {
  /**
   * Continue what an interrupted download of the same object to the same path left (a killed process, or
   * one that failed on the network or was aborted), when the object's ETag or generation is unchanged;
   * and on such a failure keep what was written, for the next run. Without it a leftover is removed and
   * a failure removes what it wrote. Default false (the command line's default is true).
   */
  resume?: boolean | undefined;
  /**
   * A checksum of the bytes written, taken whatever the server keeps (`verify` needs the service's own):
   * read back from the file before it takes its final name, in the result as `digest` (hex).
   */
  digest?: Digest | undefined;
  /** With `digest`: the value it must have (hex, or base64); otherwise IntegrityError and no file. */
  expectDigest?: string | undefined;
  /**
   * Write with O_DIRECT (Linux): whole landing blocks go from pooled memory to the disk without a copy
   * into the page cache (for files much larger than the cache, read once by another process). The bytes
   * before a response's first 4 KiB boundary and after its last are written the ordinary way. A file
   * system that refuses it (ramfs, tmpfs before Linux 6.6) is a LocalIO error before any request; a
   * regular file only. Default false.
   */
  direct?: boolean | undefined;
}

export interface DownloadFileResult {
  path: string;
  meta: ObjectMeta;
  stats: DownloadStats;
  /** Bytes that were already in the file from an interrupted run, not fetched again (with `resume`). */
  resumedBytes: number;
  /** With `digest`: the bytes' checksum, in hex. */
  digest?: string | undefined;
  /** With `direct`: the bytes written through O_DIRECT (the rest went through the page cache). */
  directBytes?: number | undefined;
}

const FILE_PART_SIZE = 4 * 1024 * 1024;

/** Failures a later run may get past: what was written is worth keeping for it. */
const worthKeeping = (e: unknown) => isRangepoolError(e) && (e.code === 'Aborted' || e.code === 'Timeout' || e.code === 'Unavailable');

/**
 * The object (or `offset`/`length` of it) to the file at `path`, which appears only once complete. Memory
 * is what the requests in flight land in, at most `readAhead` (128 MiB by default: 128 rings of 1 MiB,
 * or 32 blocks of 4 MiB with range threads or an SDK transport).
 * With `resume`, an interrupted download of the same object continues where it stopped. Rejects with a
 * RangepoolError (`LocalIO` for faults of the local file system) and leaves nothing behind (with
 * `resume`, what a later run can continue).
 */
export async function download(uri: string, path: string, opts: DownloadFileOptions = {}): Promise<DownloadFileResult> {
  const started = performance.now();
  const { loc, store, cacheKey } = await resolve(uri, opts);
  const engine = opts.engine ?? defaultEngine();
  const pool = opts.pool ?? defaultPool();
  if (opts.expectDigest !== undefined && opts.digest === undefined) throw invalidArgument('expectDigest needs digest: which checksum it is', uri);
  const target = await outputTarget(path, opts);
  if (target.kind === 'file') checkTargetName(target.path);
  else if (opts.direct) throw invalidArgument(`direct I/O writes regular files only, and ${printable(path)} is not one`);
  const result = target.kind === 'special' ? await inOrder(target.path, opts) : await byPosition(target.path, target.mode);
  metaCache.set(cacheKey, result.meta);
  result.stats.elapsedMs = performance.now() - started;
  result.stats.bytesPerSecond = result.stats.elapsedMs > 0 ? (result.stats.bytes / result.stats.elapsedMs) * 1000 : 0;
  return { ...result, path };

  async function byPosition(file: string, mode: number): Promise<Omit<DownloadFileResult, 'path'>> {
    const offset = opts.offset ?? 0;
    // Where requests land in rings (engine/ring.ts), a request's memory is its ring whatever its size: ranges
    // as get() cuts them, and up to 128 requests in the read-ahead window (8 default parts, 128 MiB) where
    // the host's adaptive limit allows. Elsewhere (range threads, the SDKs, files) a request lands in a block
    // of its size: parts of 4 MiB unless a size was asked for, up to 32 requests in the window.
    const rings = landsInRings(engine, store, pool);
    const partSize = opts.partSize ?? (rings || engine.partSizeAsked ? undefined : Math.min(FILE_PART_SIZE, engine.options.partSize));
    const window = opts.readAhead ?? (opts.concurrency ?? engine.options.concurrency ?? READ_AHEAD_PARTS) * (opts.partSize ?? engine.options.partSize);
    const identity = objectIdentity(loc.uri, offset, opts.length);
    // A leftover continued against a version that has changed since is dropped, and the object read afresh.
    for (let fresh = !opts.resume; ; fresh = true) {
      let part: PartFile;
      try {
        part = PartFile.open(file, identity, { resume: !fresh, mode, pinnable: (meta) => canPinRanges(meta, store) });
      } catch (e) {
        throw localError(e, path);
      }
      if (opts.direct) {
        try {
          part.direct();
        } catch (e) {
          await part.discard(!!opts.resume); // a leftover stays for a run without direct I/O
          throw localError(e, path);
        }
      }
      const resumed = part.resumed;
      const resumedBytes = part.bytes;
      try {
        // The file holds bytes [offset, offset + its length) of the object: what it lacks, in the object's terms.
        const missing = resumed?.done.missing(fstatSync(part.fd).size).map((s) => ({ start: offset + s.start, length: s.length, at: 0 }));
        const r =
          missing?.length === 0
            ? { meta: resumed!.meta, stats: emptyStats(store.transport) }
            : await engine.download(store, loc, resumed?.meta, {
                ...opts,
                pool,
                partSize,
                // A continued file's checksum covers bytes this run never saw: the file is checked instead.
                verify: resumed ? false : opts.verify,
                ...(missing ? { spans: missing } : {}),
                onProgress: opts.onProgress && ((p) => opts.onProgress!({ bytes: resumedBytes + p.bytes, total: resumedBytes + p.total })),
                sink: {
                  start: (meta, _at, length) => part.start(meta, length),
                  write: (at, bytes) => part.write(at - offset, bytes),
                  forget: (at, length) => part.forget(at - offset, length),
                  window,
                  align: opts.direct ? { unit: DIRECT_UNIT, origin: offset } : undefined,
                },
              });
        const { stats } = r;
        let { meta } = r;
        const length = Math.min(opts.length ?? Infinity, meta.size - offset);
        if (opts.verify && !stats.verified) {
          // What could not be checked as bytes landed (an MD5, a continued file) is checked from the file;
          // against the checksums a stat gives when the first response had none (of the same version).
          if (!meta.checksums) meta = await withChecksums(meta);
          const kind = checksumFor(opts.verify, meta, offset === 0 && length === meta.size, loc.uri);
          if (kind && !fileMatches(part.fd, length, kind, meta)) throw new RangepoolError('IntegrityError', `the object's ${kind} does not match the bytes written`, { uri: loc.uri });
          stats.verified = kind;
        }
        const digest = opts.digest && fileDigest(part.fd, length, opts.digest);
        if (digest) checkDigest(digest);
        await part.commit(file, opts.fsync ?? false);
        return { meta, stats, resumedBytes, ...(digest ? { digest } : {}), ...(opts.direct ? { directBytes: part.directBytes } : {}) };
      } catch (e) {
        await part.discard(!!opts.resume && worthKeeping(e));
        if (resumed && !fresh && isRangepoolError(e, 'PreconditionFailed')) continue;
        throw localError(e, path);
      }
    }
  }

  function checkDigest(digest: string): void {
    if (opts.expectDigest !== undefined && !sameDigest(digest, opts.expectDigest)) {
      throw new RangepoolError('IntegrityError', `the ${opts.digest} of the bytes received is ${digest}, not the ${printable(opts.expectDigest)} expected`, { uri: loc.uri, retryable: false });
    }
  }

  async function withChecksums(meta: ObjectMeta): Promise<ObjectMeta> {
    const now = await engine.stat(store, loc, opts.signal);
    if (now.etag !== meta.etag || now.generation !== meta.generation) throw new RangepoolError('PreconditionFailed', 'the object changed while it was read', { uri: loc.uri });
    return { ...meta, checksums: now.checksums };
  }

  /** A FIFO, device or socket: in order, at its position. A chunk goes back to the pool only after its write. */
  async function inOrder(special: string, o: DownloadFileOptions): Promise<Omit<DownloadFileResult, 'path'>> {
    const meta = await engine.stat(store, loc, o.signal);
    const partSize = o.partSize ?? engine.options.partSize;
    const stats = emptyStats(store.transport);
    const readAhead = o.readAhead ?? (o.concurrency ?? engine.options.concurrency ?? READ_AHEAD_PARTS) * partSize;
    const chunks = chunksInOrder(engine, store, loc, meta, { ...o, pool, partSize, readAhead, stats });
    const digester = o.digest && new Digester(o.digest);
    await writeInPlace(special, async (fh) => {
      for await (const chunk of chunks) {
        digester?.update(chunk);
        for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at, chunk.length - at, null)).bytesWritten;
      }
    });
    const digest = digester?.value();
    if (digest) checkDigest(digest); // (written already: a FIFO or device cannot take its bytes back)
    return { meta, stats, resumedBytes: 0, ...(digest ? { digest } : {}) };
  }
}
