// O_DIRECT writes (download({ direct }), --direct): a full landing block goes from the pool's memory to the
// disk without a copy into the page cache, so a checkpoint of many GiB neither costs a second copy of every
// byte nor pushes everything else out of the cache. O_DIRECT needs the file offset, the length and the
// memory address aligned (to the device's logical block; 4096 covers every common one): the landing rings
// place their bytes so that whole blocks are (engine/ring.ts), and the few bytes before the first boundary
// of a response and after its last go through the ordinary descriptor. Linux only.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { RangepoolError, printable } from '../errors.js';

/** The alignment asked of every direct write: offset, length and address. */
export const DIRECT_UNIT = 4096;

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * A second descriptor of the file open as `fd` at `path`, with O_DIRECT. Throws InvalidArgument where the
 * platform has no O_DIRECT and LocalIO where the file system refuses it (EINVAL: ramfs, tmpfs before Linux 6.6).
 */
export function openDirect(path: string, fd: number): number {
  if (constants.O_DIRECT === undefined) throw new RangepoolError('InvalidArgument', 'direct I/O (O_DIRECT) is available on Linux only', { retryable: false });
  let direct: number;
  try {
    direct = openSync(path, constants.O_WRONLY | constants.O_DIRECT | NOFOLLOW);
  } catch (e) {
    const refused = (e as NodeJS.ErrnoException).code === 'EINVAL';
    if (!refused) throw e;
    throw new RangepoolError('LocalIO', `the file system does not take direct I/O (O_DIRECT), run without it: ${printable(path)}`, { cause: e, retryable: false });
  }
  const [a, b] = [fstatSync(direct), fstatSync(fd)];
  if (a.ino !== b.ino || a.dev !== b.dev) {
    closeSync(direct);
    throw new RangepoolError('LocalIO', `the temporary file ${printable(path)} was replaced by another process while it was opened`, { retryable: false });
  }
  return direct;
}

/** A write of `bytes` at file offset `at` cut into [start, end) runs of `bytes`, each marked whether it may go direct. */
export function directRuns(at: number, bytes: Buffer): Array<{ start: number; end: number; direct: boolean }> {
  const head = Math.min(bytes.length, (DIRECT_UNIT - (at % DIRECT_UNIT)) % DIRECT_UNIT);
  const middle = Math.floor((bytes.length - head) / DIRECT_UNIT) * DIRECT_UNIT;
  // The pool's blocks are page aligned, so a Buffer's offset in its ArrayBuffer is its address's remainder.
  if (middle === 0 || (bytes.byteOffset + head) % DIRECT_UNIT !== 0) return [{ start: 0, end: bytes.length, direct: false }];
  const runs = [{ start: head, end: head + middle, direct: true }];
  if (head > 0) runs.unshift({ start: 0, end: head, direct: false });
  if (head + middle < bytes.length) runs.push({ start: head + middle, end: bytes.length, direct: false });
  return runs;
}
