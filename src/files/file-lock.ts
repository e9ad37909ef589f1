// Whether the writer of a temporary file is still running: an exclusive flock on the open file, which the
// kernel drops when its holder dies (however it dies) and which two opens in one process do not share.
// Where there is none (Windows, no addon, a file system without flock), part-file.ts falls back to the
// pid in the file's state.
import { binding } from '../native.js';

/** 'unsupported': no answer either way for this file. */
export type LockResult = 'locked' | 'busy' | 'unsupported';

/** Takes the lock on `fd` without waiting; it lasts until the file is closed. */
export function tryLock(fd: number): LockResult {
  if (process.env.RANGEPOOL_NO_FLOCK === '1' || !binding?.tryLockFile) return 'unsupported';
  const r = binding.tryLockFile(fd);
  return r === 1 ? 'locked' : r === 0 ? 'busy' : 'unsupported';
}
