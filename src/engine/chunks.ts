// Objects bigger than memory: a span fetched as consecutive chunks of one part each, every chunk its own
// pooled block, at most `readAhead` bytes of them fetched or held at once, handed over in order. Each
// chunk is a Download pinned to the same version (so retries, resume, stalls and the in-flight limit
// are the engine's own); their CRCs combine into the span's, checked after the last chunk.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { crc32cCombine } from '../crc32c.js';
import { crc64nvmeCombine } from '../crc64nvme.js';
import { RangepoolError, abortedError, invalidArgument } from '../errors.js';
import type { Pool } from '../pool/types.js';
import type { ObjectMeta, Store } from '../stores/store.js';
import type { Location } from '../uri.js';
import { checksumFor } from './checksum.js';
import { canPinRanges } from './pin.js';
import type { DownloadOptions, DownloadResult, DownloadStats, Progress } from './types.js';

export interface ChunkOptions {
  pool: Pool;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Bytes per chunk (one request each). */
  partSize: number;
  /** Bytes fetched ahead of the consumer, the chunk it holds included. At least one chunk. */
  readAhead: number;
  verify?: boolean | 'require';
  offset?: number;
  length?: number;
  /** Totals over the chunks so far (requests, retries, ...), updated as each arrives; `verified` after the last. */
  stats?: DownloadStats;
  /** A span running past the end of the object ends at its end (as curl -r). */
  clampToSize?: boolean;
}

/** What the chunk pipeline needs of an engine. */
export interface ChunkSource {
  download(store: Store, loc: Location, meta: ObjectMeta, opts: DownloadOptions): Promise<DownloadResult>;
}

/**
 * The span's bytes as pooled chunks, in order. A chunk is the consumer's until it asks for the next one
 * (or ends the loop): then it goes back to the pool, unless `keepChunks` hands each one over for good
 * (it then returns when released or garbage-collected). Ending the loop early stops every fetch and
 * returns every chunk not handed over.
 */
export async function* chunksInOrder(engine: ChunkSource, store: Store, loc: Location, meta: ObjectMeta, opts: ChunkOptions, keepChunks = false): AsyncGenerator<Buffer, void, undefined> {
  const uri = loc.uri;
  const offset = opts.offset ?? 0;
  const length = opts.length === undefined || (opts.clampToSize && offset < meta.size) ? Math.min(opts.length ?? Infinity, meta.size - offset) : opts.length;
  if (offset < 0 || length < 0 || offset + length > meta.size) throw invalidArgument(`range ${offset}+${length} runs past the end of the object (${meta.size} bytes)`, uri);
  const verify = checksumFor(opts.verify, meta, offset === 0 && length === meta.size, uri);
  const crc = verify === 'crc32c' || verify === 'crc64nvme' ? verify : undefined;
  const md5 = verify === 'md5' ? createHash('md5') : undefined;
  // Nothing proves that two responses come from one version: the whole span in one chunk, one request (as
  // get() reads it), whatever the read-ahead.
  const chunkSize = canPinRanges(meta, store) ? opts.partSize : Math.max(length, 1);
  const chunkCount = Math.ceil(length / chunkSize);
  const ahead = Math.max(1, Math.floor(opts.readAhead / chunkSize));

  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const onCallerAbort = () => stop.abort(abortedError(opts.signal!, uri));
  if (opts.signal?.aborted) throw abortedError(opts.signal, uri);
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const progress = new Map<number, number>();
  let received = 0;
  const onProgress = (i: number) => (p: Progress) => {
    received += p.bytes - (progress.get(i) ?? 0);
    progress.set(i, p.bytes);
    opts.onProgress?.({ bytes: received, total: length });
  };
  const inFlight: Array<Promise<DownloadResult>> = [];
  let firstError: { error: unknown } | undefined;
  let next = 0;
  const fill = () => {
    while (inFlight.length < ahead && next < chunkCount) {
      const i = next++;
      const start = offset + i * chunkSize;
      const chunk = engine.download(store, loc, meta, {
        pool: opts.pool,
        signal: stop.signal,
        offset: start,
        length: Math.min(chunkSize, offset + length - start),
        // One range per chunk (a partSize asked for), under the host's adaptive limit like every range.
        partSize: Math.max(chunkSize, opts.partSize),
        crc,
        onProgress: onProgress(i),
      });
      // The first failure stops the others, and is what the loop reports (not the aborts it caused).
      chunk.catch((e: unknown) => {
        firstError ??= { error: e };
        stop.abort(e);
      });
      inFlight.push(chunk);
    }
    // One request per chunk: the chunks in flight are the connections in use (waiting for a slot included).
    if (opts.stats) opts.stats.connections = Math.max(opts.stats.connections, inFlight.length);
  };

  let combined: number | bigint = crc === 'crc64nvme' ? 0n : 0;
  let done = false;
  try {
    fill();
    while (inFlight.length > 0) {
      const { buffer, crc: part, stats } = await inFlight.shift()!.catch((e: unknown) => {
        throw opts.signal?.aborted ? abortedError(opts.signal, uri) : (firstError?.error ?? e);
      });
      if (opts.stats) addStats(opts.stats, stats);
      if (crc === 'crc32c') combined = crc32cCombine(combined as number, part as number, buffer.length);
      else if (crc === 'crc64nvme') combined = crc64nvmeCombine(combined as bigint, part as bigint, buffer.length);
      md5?.update(buffer);
      if (keepChunks) {
        fill();
        yield buffer;
      } else {
        try {
          yield buffer;
        } finally {
          opts.pool.release(buffer);
        }
        fill(); // only now: the chunk just released is the room for the next
      }
    }
    const matches = crc ? combined === meta.checksums![crc] : md5 ? md5.digest('base64') === meta.checksums!.md5 : true;
    if (!matches) throw new RangepoolError('IntegrityError', `the object's ${verify} does not match the bytes received`, { uri });
    if (opts.stats) opts.stats.verified = verify;
    done = true;
  } finally {
    opts.signal?.removeEventListener('abort', onCallerAbort);
    if (!done) {
      stop.abort(opts.signal?.aborted ? abortedError(opts.signal, uri) : new RangepoolError('Aborted', 'the reader stopped', { uri }));
      for (const r of await Promise.allSettled(inFlight)) if (r.status === 'fulfilled') opts.pool.release(r.value.buffer);
    }
  }
}

/** Chunks fetched ahead by default, without a concurrency asked for: the read-ahead window is this many parts. */
export const READ_AHEAD_PARTS = 8;

/** Totals before the first chunk. */
export function emptyStats(transport: DownloadStats['transport']): DownloadStats {
  return { bytes: 0, ranges: 0, requests: 0, retries: 0, elapsedMs: 0, bytesPerSecond: 0, verified: false, transport, threads: 0, connections: 0, stragglers: 0, throttled: 0, firstByteMs: 0 };
}

export function addStats(total: DownloadStats, chunk: DownloadStats): void {
  total.bytes += chunk.bytes;
  total.ranges += chunk.ranges;
  total.requests += chunk.requests;
  total.retries += chunk.retries;
  total.stragglers += chunk.stragglers;
  total.throttled += chunk.throttled;
  total.transport = chunk.transport;
  total.threads = chunk.threads;
  // The latest chunk's first byte is as good as any (connections: counted by the caller, chunks in flight).
  total.firstByteMs = chunk.firstByteMs || total.firstByteMs;
}
