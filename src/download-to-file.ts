// download(): an object of any size to a file, chunk by chunk in order from pooled memory, so memory
// stays at the read-ahead window. The file appears under its name only once complete (see output-file.ts).
import { defaultEngine, metaCache, resolve } from './api.js';
import { READ_AHEAD_PARTS, chunksInOrder, emptyStats } from './engine/chunks.js';
import type { DownloadStats } from './engine/types.js';
import { writeOutputFile, type OutputFileOptions } from './files/output-file.js';
import { defaultPool } from './pool/index.js';
import type { StreamOptions } from './stream.js';
import type { ObjectMeta } from './stores/store.js';

export interface DownloadFileOptions extends StreamOptions, OutputFileOptions {}

export interface DownloadFileResult {
  path: string;
  meta: ObjectMeta;
  stats: DownloadStats;
}

export async function download(uri: string, path: string, opts: DownloadFileOptions = {}): Promise<DownloadFileResult> {
  const started = performance.now();
  const { loc, store, cacheKey } = await resolve(uri, opts);
  const engine = opts.engine ?? defaultEngine();
  const meta = await engine.stat(store, loc, opts.signal);
  metaCache.set(cacheKey, meta);
  const partSize = opts.partSize ?? engine.options.partSize;
  const stats = emptyStats(store.transport);
  const chunks = chunksInOrder(engine, store, loc, meta, { ...opts, pool: opts.pool ?? defaultPool(), partSize, readAhead: opts.readAhead ?? (opts.concurrency ?? engine.options.concurrency ?? READ_AHEAD_PARTS) * partSize, stats });
  await writeOutputFile(
    path,
    async (fh) => {
      // In order, at the file's position (so a FIFO or a device works too). A chunk goes back to the
      // pool when the loop moves on: only after its write has completed.
      for await (const chunk of chunks) {
        for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at, chunk.length - at, null)).bytesWritten;
      }
    },
    { fsync: opts.fsync, createDirs: opts.createDirs },
  );
  stats.elapsedMs = performance.now() - started;
  stats.bytesPerSecond = stats.elapsedMs > 0 ? (stats.bytes / stats.elapsedMs) * 1000 : 0;
  return { path, meta, stats };
}
