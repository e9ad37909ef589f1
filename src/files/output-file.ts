// Where a download's bytes go. A regular file (or a new one) is written through a temporary file beside
// it (files/part-file.ts): readers never see a partial file under the final name, and a planted symlink
// cannot redirect the write. A symlink at the path is followed where the kernel would follow it
// (fs.protected_symlinks: in a sticky, world-writable directory only a link of this user or of the
// directory's owner) and never replaced; one to nothing is refused. A device, FIFO or socket is written
// in place and in order (as curl -o and cp do).
import { constants, lstatSync, statSync } from 'node:fs';
import { lstat, mkdir, open, readlink, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { RangepoolError, invalidArgument, isRangepoolError, printable } from '../errors.js';

export interface OutputFileOptions {
  /** fsync the file before it takes the final name. Default false. */
  fsync?: boolean | undefined;
  /** Create missing parent directories (as curl --create-dirs). Default false. */
  createDirs?: boolean | undefined;
}

/** A regular file to write through a temporary (with the mode it gets), or a special file written in place. */
export type OutputTarget = { kind: 'file'; path: string; mode: number } | { kind: 'special'; path: string };

/** What `path` is to a download: a symlink followed (see above), checked, its directory made if asked. */
export async function outputTarget(path: string, opts: OutputFileOptions): Promise<OutputTarget> {
  try {
    if (opts.createDirs && !orNot(statSync, dirname(path))) await mkdir(dirname(path), { recursive: true });
    const target = await followLinks(path);
    const existing = orNot(statSync, target);
    if (existing?.isDirectory()) throw invalidArgument(`${printable(path)} is a directory`);
    if (existing && !existing.isFile()) return { kind: 'special', path: target };
    // The final file keeps an existing file's mode.
    return { kind: 'file', path: target, mode: existing ? existing.mode & 0o7777 : 0o666 };
  } catch (e) {
    throw localError(e, path);
  }
}

/** Where the symlinks at `path` lead, each checked as the kernel checks it; `path` itself when it is none. */
async function followLinks(path: string): Promise<string> {
  const uid = process.getuid?.();
  let at = path;
  for (let hops = 0; hops < 40; hops++) {
    const link = orNot(lstatSync, at);
    if (!link?.isSymbolicLink()) return at;
    const dir = await stat(dirname(at));
    const shared = (dir.mode & 0o1000) !== 0 && (dir.mode & 0o002) !== 0;
    if (shared && uid !== undefined && link.uid !== uid && link.uid !== dir.uid) {
      throw new RangepoolError('LocalIO', `${printable(at)} is another user's symlink in a shared (sticky, world-writable) directory: not followed, as the kernel would not (fs.protected_symlinks)`, { retryable: false });
    }
    const next = resolve(dirname(at), await readlink(at));
    if (!(await lstat(next).catch(() => undefined))) {
      throw new RangepoolError('LocalIO', `${printable(at)} is a symlink to ${printable(next)}, which does not exist: a link is followed, never replaced, and this one leads nowhere`, { retryable: false });
    }
    at = next;
  }
  throw new RangepoolError('LocalIO', `${printable(path)}: too many levels of symbolic links`, { retryable: false });
}

/**
 * What a (l)stat says of `path`, undefined where there is nothing or it cannot be asked. Synchronous and
 * without an exception for a missing name: a folder of many objects asks this of every one, and most
 * names are new (an Error's stack costs more than the call).
 */
export function orNot(how: typeof statSync, path: string) {
  try {
    return how(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Runs `write` on a handle for a special file, opened for writing in place. */
export async function writeInPlace(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const fh = await open(path, constants.O_WRONLY).catch((e: unknown) => {
    throw localError(e, path);
  });
  try {
    await write(fh);
  } catch (e) {
    throw localError(e, path);
  } finally {
    await fh.close();
  }
}

const LOCAL: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  EPIPE: 'broken pipe (the reader went away)',
  EIO: 'I/O error',
  EFBIG: 'file too large for the file system',
  EMFILE: 'too many open files',
};

/** A local file system error as a RangepoolError naming the path: the caller's machine, never the service. */
export function localError(e: unknown, path: string): RangepoolError {
  if (isRangepoolError(e)) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const say = (c: RangepoolError['code'], what: string) => new RangepoolError(c, `${what}: ${printable(path)}`, { cause: e, retryable: false });
  // The caller's path, not the object, is what is missing: a usage error, never 'not found'.
  if (code === 'ENOENT' || code === 'ENOTDIR') return say('InvalidArgument', 'no such directory to write into');
  if (code === 'EISDIR') return say('InvalidArgument', 'is a directory');
  return say('LocalIO', `${(code && LOCAL[code]) ?? `the file could not be written (${code ?? (e as Error)?.message})`}`);
}
