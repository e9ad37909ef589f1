// Shared by the HTTP stores: check what a ranged response says it holds, and copy its body into the
// target as chunks arrive (never concatenating them into a new buffer).
import { RangepoolError } from '../errors.js';

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

/** Copies a body stream into `target`, in order, reporting each chunk; exactly target.length bytes. */
export async function pipeInto(
  body: AsyncIterable<Uint8Array>,
  target: Buffer,
  onData: (bytes: number) => void,
  uri: string,
): Promise<void> {
  let at = 0;
  for await (const chunk of body) {
    if (at + chunk.length > target.length) {
      throw new RangepoolError('IntegrityError', `response body is longer than the ${target.length} bytes asked for`, { uri, retryable: true });
    }
    target.set(chunk, at);
    at += chunk.length;
    onData(chunk.length);
  }
  if (at !== target.length) {
    throw new RangepoolError('Unavailable', `response body ended after ${at} of ${target.length} bytes`, { uri });
  }
}
