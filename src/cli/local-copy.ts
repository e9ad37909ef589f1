// What is already on disk where an object would go: --no-clobber keeps any file there, --skip-unchanged
// one of the object's size whose modification time is the object's (as rclone copy and aws s3 sync compare;
// every file rangepool writes gets the object's Last-Modified as its own).
import { utimesSync } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface Remote {
  size: number;
  lastModified?: Date | undefined;
}

/** Why the file at `path` stays as it is, or undefined when the object is to be fetched. */
export async function keepReason(path: string, remote: Remote, o: { clobber?: boolean; skipUnchanged?: boolean }): Promise<string | undefined> {
  if (o.clobber !== false && !o.skipUnchanged) return undefined;
  const local = await stat(path).catch(() => undefined);
  if (!local) return undefined;
  if (o.clobber === false) return 'exists (--no-clobber)';
  const sameTime = remote.lastModified !== undefined && Math.floor(local.mtimeMs / 1000) === Math.floor(remote.lastModified.getTime() / 1000);
  return local.isFile() && local.size === remote.size && sameTime ? 'unchanged (same size and time)' : undefined;
}

/**
 * Gives a written file the object's Last-Modified (what --skip-unchanged compares next time). At once: a
 * metadata call that a trip through libuv's pool would cost more than it takes, once per object.
 */
export function stampTime(path: string, lastModified: Date | undefined): void {
  try {
    if (lastModified) utimesSync(path, new Date(), lastModified);
  } catch {
    // a FIFO or device: nothing to stamp
  }
}
