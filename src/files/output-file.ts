// Writing a file the way a careful tool does. A regular file (or a new one) is replaced atomically
// through a temporary file created exclusively, with a random name, beside it: a planted symlink at a
// guessable name cannot redirect the write, and readers never see a partial file under the final name.
// A symlink is followed, never replaced; a device, FIFO or socket is written in place (as curl -o and cp
// do). The temporary file is removed on every failure, abort included.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RangepoolError, invalidArgument } from '../errors.js';

export interface OutputFileOptions {
  /** fsync the file before it takes the final name. Default false. */
  fsync?: boolean;
  /** Create missing parent directories (as curl --create-dirs). Default false. */
  createDirs?: boolean;
}

/** A local file system error as a RangepoolError naming the path. */
function writeError(e: unknown, path: string): RangepoolError {
  if (e instanceof RangepoolError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const say = (c: RangepoolError['code'], what: string) => new RangepoolError(c, `${what}: ${path}`, { cause: e, retryable: false });
  // The caller's path, not the object, is what is missing: a usage error, never 'not found'.
  if (code === 'ENOENT' || code === 'ENOTDIR') return say('InvalidArgument', 'no such directory to write into');
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return say('AccessDenied', 'not allowed to write');
  if (code === 'EISDIR') return say('InvalidArgument', 'is a directory');
  return say('Unavailable', `the file could not be written (${code ?? (e as Error)?.message})`);
}

/** Runs `write` on a handle for `path` (see above), then gives the result its name. */
export async function writeOutputFile(path: string, write: (fh: FileHandle) => Promise<void>, opts: OutputFileOptions = {}): Promise<void> {
  return writeSafely(path, write, opts).catch((e: unknown) => {
    throw writeError(e, path);
  });
}

async function writeSafely(path: string, write: (fh: FileHandle) => Promise<void>, opts: OutputFileOptions): Promise<void> {
  if (opts.createDirs) await mkdir(dirname(path), { recursive: true });
  const link = await lstat(path).catch(() => undefined);
  const target = link?.isSymbolicLink() ? await realpath(path).catch(() => path) : path;
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw invalidArgument(`${path} is a directory`);
  if (existing && !existing.isFile()) return withHandle(await open(target, constants.O_WRONLY), write);
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}.rangepool-tmp`);
  try {
    // O_EXCL: fails rather than follow anything already at that name. The final file keeps an existing file's mode.
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), existing ? existing.mode & 0o7777 : 0o666);
    await withHandle(fh, async (h) => {
      await write(h);
      if (opts.fsync) await h.sync();
    });
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

async function withHandle(fh: FileHandle, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  try {
    await write(fh);
  } finally {
    await fh.close();
  }
}
