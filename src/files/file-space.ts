// Reserving a download's file before its bytes arrive (the addon's fallocate, Linux): a file that cannot fit
// fails at once, before gigabytes are fetched only to be thrown away, and is laid out in one piece where the
// file system can. Where there is no such call (no addon, another platform, a file system without it) the
// file grows as its bytes are written, as before.
import { constants } from 'node:os';
import { binding } from '../native.js';

/** The errors that mean "it will not fit"; every other answer leaves the file as it is. */
const SHORTAGE: Record<number, string> = { [constants.errno.ENOSPC]: 'ENOSPC', [constants.errno.EDQUOT]: 'EDQUOT', [constants.errno.EFBIG]: 'EFBIG' };

/** Allocates the first `length` bytes of `fd`; throws an errno-style error (code ENOSPC, EDQUOT, EFBIG) when they cannot fit. */
export function preallocate(fd: number, length: number): void {
  if (process.env.RANGEPOOL_NO_PREALLOCATE === '1' || !binding?.preallocate) return;
  const r = binding.preallocate(fd, length);
  const code = SHORTAGE[-r];
  if (code) throw Object.assign(new Error(`${code}: ${length} bytes do not fit`), { code, errno: r });
}
