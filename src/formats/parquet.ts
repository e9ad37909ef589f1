// hyparquet's AsyncBuffer over a rangepool handle, so parquetRead/parquetQuery read s3://, gs://, az://,
// https:// and file:// objects: one version throughout (the handle's), the footer reads served by the
// handle's cache, and the column chunks hyparquet asks for in one go fetched as one coalesced getRanges.
import type { ObjectHandle } from '../open.js';
import { invalidArgument } from '../errors.js';

/** hyparquet's AsyncBuffer (structurally; hyparquet is not a dependency of this module). */
export interface AsyncBuffer {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

export interface AsyncBufferOptions {
  /** Spans asked for together with at most this many bytes between them are fetched in one request. Default 1 MiB. */
  coalesce?: number;
  signal?: AbortSignal;
}

interface Pending {
  start: number;
  end: number;
  resolve: (b: ArrayBuffer) => void;
  reject: (e: unknown) => void;
}

/**
 * An AsyncBuffer reading `handle`. Slices asked for in the same turn of the event loop (hyparquet asks for
 * every column chunk of a read at once) are fetched together: one getRanges, coalesced. Each slice is its
 * own ArrayBuffer: a lone one is the pooled block itself (returned to the pool when collected), slices
 * fetched together are copied out of their shared block, which goes back at once.
 */
export function asyncBuffer(handle: ObjectHandle, opts: AsyncBufferOptions = {}): AsyncBuffer {
  let batch: Pending[] = [];
  const flush = async (pending: Pending[]) => {
    try {
      if (pending.length === 1) {
        const { start, end, resolve } = pending[0]!;
        resolve((await handle.read(start, end - start, { signal: opts.signal })).buffer as ArrayBuffer);
        return;
      }
      const r = await handle.readRanges(pending.map((p) => [p.start, p.end - p.start] as const), { coalesce: opts.coalesce, signal: opts.signal });
      try {
        r.buffers.forEach((b, i) => pending[i]!.resolve(b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer));
      } finally {
        r.release();
      }
    } catch (e) {
      for (const p of pending) p.reject(e);
    }
  };
  return {
    byteLength: handle.size,
    slice(start: number, end = handle.size): Promise<ArrayBuffer> {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > handle.size) {
        return Promise.reject(invalidArgument(`slice(${start}, ${end}) is outside the object (${handle.size} bytes)`, handle.uri));
      }
      return new Promise<ArrayBuffer>((resolve, reject) => {
        if (batch.length === 0) {
          setImmediate(() => {
            const pending = batch;
            batch = [];
            void flush(pending);
          });
        }
        batch.push({ start, end, resolve, reject });
      });
    },
  };
}
