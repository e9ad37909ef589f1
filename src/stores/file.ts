// file:///abs/path: positional reads straight into the pooled buffer. direct:///abs/path: the same
// with O_DIRECT (no page cache); pooled blocks are page aligned, and the unaligned tail of a read goes
// through a small aligned bounce block.
import { constants, type BigIntStats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RangepoolError } from '../errors.js';
import { defaultPool } from '../pool/index.js';
import type { Location } from '../uri.js';
import type { ListEntry, ListPage, ObjectMeta, ReadOptions, Store } from './store.js';

const ALIGN = 4096;

export function fsError(e: unknown, uri: string): RangepoolError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof RangepoolError) return e;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new RangepoolError('NotFound', 'no such file', { uri, cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new RangepoolError('AccessDenied', 'permission denied', { uri, cause: e });
  if (code === 'EISDIR') return new RangepoolError('InvalidArgument', 'is a directory', { uri, cause: e });
  if (code === 'EAGAIN' || code === 'EINTR' || code === 'EIO') return new RangepoolError('Unavailable', `read failed (${code})`, { uri, cause: e });
  return new RangepoolError('Internal', `file error ${code ?? ''}: ${(e as Error)?.message}`, { uri, cause: e });
}

/** A file's version: which file it is and when its contents last changed, to the nanosecond. */
function identity(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

export class FileStore implements Store {
  readonly alignment: number | undefined;

  constructor(readonly direct = false) {
    this.alignment = direct ? ALIGN : undefined;
  }

  async stat(loc: Location): Promise<ObjectMeta> {
    const s = await stat(loc.key, { bigint: true }).catch((e) => {
      throw fsError(e, loc.uri);
    });
    if (!s.isFile()) throw new RangepoolError('InvalidArgument', 'not a regular file', { uri: loc.uri });
    if (this.direct) await (await this.open(loc)).close(); // say now, whatever the size, if O_DIRECT is refused
    return { size: Number(s.size), etag: identity(s), lastModified: s.mtime };
  }

  /**
   * The file must be the one pinned, before and after the bytes are read: the same device and inode
   * (not renamed over), size, and modification and change times to the nanosecond (not rewritten in place).
   */
  async readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    const fh = await this.open(loc);
    try {
      await this.checkIdentity(fh, loc, opts.version);
      if (this.direct) await this.readDirect(fh, loc, start, target, opts);
      else await readFully(fh, start, target, opts, loc.uri);
      await this.checkIdentity(fh, loc, opts.version);
    } finally {
      await fh.close();
    }
  }

  private async checkIdentity(fh: FileHandle, loc: Location, version: ObjectMeta): Promise<void> {
    const now = identity(await fh.stat({ bigint: true }));
    if (version.etag !== undefined && now !== version.etag) {
      throw new RangepoolError('PreconditionFailed', 'the file changed during the download (replaced, or rewritten in place)', { uri: loc.uri });
    }
  }

  private async open(loc: Location): Promise<FileHandle> {
    try {
      return await open(loc.key, this.direct ? constants.O_RDONLY | constants.O_DIRECT : constants.O_RDONLY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EINVAL' && this.direct) {
        throw new RangepoolError('Unsupported', 'this filesystem refuses O_DIRECT; use file:// instead', { uri: loc.uri, cause: e });
      }
      throw fsError(e, loc.uri);
    }
  }

  // O_DIRECT needs offset, length and memory aligned. The engine plans aligned parts into a page-aligned
  // pooled buffer, so the body goes straight in; an unaligned start or tail goes through a bounce block.
  private async readDirect(fh: FileHandle, loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    let body = start % ALIGN === 0 ? Math.floor(target.length / ALIGN) * ALIGN : 0;
    try {
      if (body > 0) {
        // EINVAL here means the memory is not aligned (a span that starts mid-block): bounce it all.
        await readFully(fh, start, target.subarray(0, body), opts, loc.uri).catch((e) => {
          if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
          body = 0;
        });
      }
      if (body === target.length) return;
      // The caller's pool, so the bounce block counts against its cap; the default one when the caller's
      // is the JS fallback, whose memory is not page-aligned.
      const pool = opts.pool.native ? opts.pool : defaultPool();
      if (!pool.native) throw new RangepoolError('Unsupported', 'direct:// needs the native pool (page-aligned memory)', { uri: loc.uri });
      const from = start + body;
      const alignedFrom = from - (from % ALIGN);
      const span = Math.ceil((start + target.length - alignedFrom) / ALIGN) * ALIGN;
      const bounce = await pool.acquire(span, { signal: opts.signal });
      try {
        const { bytesRead } = await fh.read(bounce, 0, span, alignedFrom);
        const want = target.length - body;
        const skip = from - alignedFrom;
        if (bytesRead < skip + want) throw new RangepoolError('PreconditionFailed', 'the file became shorter during the read', { uri: loc.uri });
        bounce.copy(target, body, skip, skip + want);
        opts.onData(want);
      } finally {
        pool.release(bounce);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EINVAL') {
        throw new RangepoolError('Unsupported', 'O_DIRECT read refused (alignment or filesystem); use file:// instead', { uri: loc.uri, cause: e });
      }
      throw fsError(e, loc.uri);
    }
  }

  /**
   * A directory is listed in one page (regular files only, sorted); a file that vanishes meanwhile is left
   * out. With a delimiter, one level: the directories there are its folders.
   */
  async listPage(prefix: Location, _cursor: string | undefined, signal: AbortSignal, delimiter?: '/'): Promise<ListPage> {
    const dir = prefix.key.endsWith('/') ? prefix.key : dirname(prefix.key);
    const found = await readdir(dir, { recursive: !delimiter, withFileTypes: true }).catch((e) => {
      throw fsError(e, prefix.uri);
    });
    const entries: ListEntry[] = [];
    const folders: string[] = [];
    for (const e of found) {
      signal.throwIfAborted();
      const path = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      if (!path.startsWith(prefix.key)) continue;
      if (delimiter && e.isDirectory()) folders.push(`${path}/`);
      if (!e.isFile()) continue;
      const s = await stat(path).catch(() => undefined);
      if (s) entries.push({ key: path, size: s.size, lastModified: s.mtime });
    }
    return { entries: entries.sort((a, b) => (a.key < b.key ? -1 : 1)), folders: folders.sort() };
  }
}

/** Positional reads until `target` is full; a file that ends early has changed under us. */
async function readFully(fh: FileHandle, start: number, target: Buffer, opts: ReadOptions, uri: string): Promise<void> {
  let at = 0;
  while (at < target.length) {
    if (opts.signal.aborted) throw opts.signal.reason;
    const { bytesRead } = await fh.read(target, at, Math.min(target.length - at, 8 * 1024 * 1024), start + at);
    if (bytesRead === 0) throw new RangepoolError('PreconditionFailed', 'the file became shorter during the read', { uri });
    at += bytesRead;
    opts.onData(bytesRead);
  }
}
