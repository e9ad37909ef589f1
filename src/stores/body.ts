// Shared by the HTTP stores: check what a ranged response says it holds, and copy its body into the
// target as chunks arrive (never concatenating them into a new buffer).
import type { Readable } from 'node:stream';
import { RangepoolError } from '../errors.js';
import type { RateLimit } from '../engine/rate-limit.js';

/** Checks `Content-Range: bytes a-b/total` against what was asked for. */
export function checkContentRange(header: string | undefined, start: number, end: number, size: number, uri: string): void {
  const m = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!m) throw new RangepoolError('IntegrityError', `ranged read got no usable Content-Range (${header ?? 'none'})`, { uri, retryable: true });
  const [a, b, total] = [Number(m[1]), Number(m[2]), m[3] === '*' ? size : Number(m[3])];
  if (total !== size) {
    throw new RangepoolError('PreconditionFailed', `object size changed from ${size} to ${total} during the download`, { uri });
  }
  if (a !== start || b !== end) {
    throw new RangepoolError('IntegrityError', `asked for bytes ${start}-${end}, got ${a}-${b}`, { uri, retryable: true });
  }
}

/**
 * Copies a body stream into `target`, in order, reporting each chunk; exactly target.length bytes.
 * Node streams are read through 'data' events: an async iterator costs a promise per 64 KiB chunk,
 * which the benchmark showed as a large share of the client's CPU.
 */
export function pipeInto(body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, target: Buffer, onData: (bytes: number) => void, uri: string, limit?: RateLimit): Promise<void> {
  let at = 0;
  /** Under a bandwidth cap: ms to wait after this chunk (a stream is paused that long, an iterator sleeps). */
  let wait = 0;
  const take = (chunk: Uint8Array) => {
    if (at + chunk.length > target.length) {
      throw new RangepoolError('IntegrityError', `response body is longer than the ${target.length} bytes asked for`, { uri, retryable: true });
    }
    target.set(chunk, at);
    at += chunk.length;
    onData(chunk.length);
    wait = limit ? limit.take(chunk.length) : 0;
  };
  const finish = () => {
    if (at !== target.length) throw new RangepoolError('Unavailable', `response body ended after ${at} of ${target.length} bytes`, { uri });
  };
  if (!isNodeStream(body)) {
    return (async () => {
      for await (const chunk of body) {
        take(chunk);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      finish();
    })();
  }
  return new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      cleanup();
      reject(e);
    };
    const onChunk = (chunk: Uint8Array) => {
      try {
        take(chunk);
        if (wait > 0) {
          const stream = body as Readable;
          stream.pause();
          setTimeout(() => stream.resume(), wait);
        }
      } catch (e) {
        (body as Readable).destroy?.();
        fail(e);
      }
    };
    const onEnd = () => {
      cleanup();
      try {
        finish();
        resolve();
      } catch (e) {
        reject(e);
      }
    };
    // A stream destroyed without an error (an abort) still has to settle the read.
    const onClose = () => fail(new RangepoolError('Unavailable', `response body closed after ${at} of ${target.length} bytes`, { uri }));
    const cleanup = () => {
      body.removeListener('data', onChunk);
      body.removeListener('end', onEnd);
      body.removeListener('error', fail);
      body.removeListener('close', onClose);
    };
    body.on('data', onChunk);
    body.once('end', onEnd);
    body.once('error', fail);
    body.once('close', onClose);
  });
}

function isNodeStream(body: unknown): body is NodeJS.ReadableStream {
  return typeof (body as NodeJS.ReadableStream).on === 'function' && typeof (body as NodeJS.ReadableStream).removeListener === 'function';
}
