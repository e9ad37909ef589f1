// A whole-object checksum of what a file holds: for what cannot be combined from parts as they land
// (MD5), and for a download continued from a leftover (the bytes of the earlier run were never seen).
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { Checksum } from '../engine/checksum.js';
import { crc32c } from '../crc32c.js';
import { crc64nvme } from '../crc64nvme.js';
import type { ObjectMeta } from '../stores/store.js';

/** Hands the first `size` bytes of `fd` to `each`, 1 MiB at a time; false when the file is shorter. */
export function readFile(fd: number, size: number, each: (bytes: Buffer) => void): boolean {
  const chunk = Buffer.allocUnsafe(Math.min(size, 1 << 20) || 1);
  for (let at = 0; at < size; ) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
    if (n === 0) return false;
    each(chunk.subarray(0, n));
    at += n;
  }
  return true;
}

/** Whether the `size` bytes of `fd` match the object's `kind` checksum. */
export function fileMatches(fd: number, size: number, kind: Checksum, meta: ObjectMeta): boolean {
  const md5 = kind === 'md5' ? createHash('md5') : undefined;
  let c32 = 0;
  let c64 = 0n;
  const whole = readFile(fd, size, (bytes) => {
    if (md5) md5.update(bytes);
    else if (kind === 'crc32c') c32 = crc32c(bytes, c32);
    else c64 = crc64nvme(bytes, c64);
  });
  if (!whole) return false; // shorter than it should be
  if (md5) return md5.digest('base64') === meta.checksums?.md5;
  return kind === 'crc32c' ? c32 === meta.checksums?.crc32c : c64 === meta.checksums?.crc64nvme;
}
