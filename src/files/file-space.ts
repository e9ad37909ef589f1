// Reserving a download's file before its bytes arrive (the addon's fallocate, Linux): a file that cannot fit
// fails at once, before gigabytes are fetched only to be thrown away, and is laid out in one piece where the
// file system can. On tmpfs a reservation is not a layout but every page of the file cleared on the spot
// (30 ms per 512 MiB on the thread that reads the sockets, measured), so there the free space is compared
// instead. Where there is no such call (no addon, another platform, a file system without it) the file grows
// as its bytes are written, as before.
import { fstatSync, statfsSync } from 'node:fs';
import { constants } from 'node:os';
import { binding } from '../native.js';

/** The errors that mean "it will not fit"; every other answer leaves the file as it is. */
const SHORTAGE: Record<number, string> = { [constants.errno.ENOSPC]: 'ENOSPC', [constants.errno.EDQUOT]: 'EDQUOT', [constants.errno.EFBIG]: 'EFBIG' };
/** statfs(2)'s f_type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/** Allocates the first `length` bytes of `fd` (the file at `path`); throws an errno-style error (code ENOSPC, EDQUOT, EFBIG) when they cannot fit. */
export function preallocate(fd: number, path: string, length: number): void {
  if (process.env.RANGEPOOL_NO_PREALLOCATE === '1' || !binding?.preallocate) return;
  const fs = statfsSync(path, { bigint: true });
  if (fs.type === BigInt(TMPFS_MAGIC)) {
    const needed = BigInt(length) - fstatSync(fd, { bigint: true }).blocks * 512n;
    if (needed > fs.bavail * fs.bsize) throw shortage(constants.errno.ENOSPC, length);
    return;
  }
  const r = binding.preallocate(fd, length);
  if (SHORTAGE[-r]) throw shortage(-r, length);
}

function shortage(errno: number, length: number): Error {
  const code = SHORTAGE[errno];
  return Object.assign(new Error(`${code}: ${length} bytes do not fit`), { code, errno: -errno });
}
