// The temporary file a download writes into beside its final name, and what lets a re-run continue it.
// Its name is fixed (.NAME.rangepool-tmp) so the next run finds what a killed one left; beside it,
// .NAME.rangepool-tmp.state says whose it is (pid), which object and version, and which bytes are in
// it. Both are created exclusively, never through a symlink. A leftover is taken over only when both are
// regular files of this user and its writer is gone; it is continued only for the same object, and the
// ranges still missing are pinned to the version it was started on (If-Match), so a changed object is
// PreconditionFailed and the caller starts over. A leftover whose writer still runs is left alone.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsync, ftruncateSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { strongValidator } from '../engine/pin.js';
import type { ObjectMeta } from '../stores/store.js';
import { Extents } from './extents.js';

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** The state is a few runs of numbers; anything larger was not written by us. */
const STATE_LIMIT = 1 << 20;
/** How often the state is rewritten while bytes land (a kill loses at most this much of the work). */
const SAVE_EVERY_MS = 1000;

interface SavedMeta {
  size: number;
  etag?: string;
  generation?: string;
  lastModified?: string;
  checksums?: { crc32c?: number; crc64nvme?: string; md5?: string };
}

interface State {
  v: 1;
  pid: number;
  /** A hash of the object's URI and span: a leftover of another object is never continued. */
  object: string;
  meta?: SavedMeta;
  done: Array<[number, number]>;
}

/** The fixed name of the temporary file for `target` (its state file adds `.state`). */
export function partFilePath(target: string): string {
  return join(dirname(target), `.${basename(target)}.rangepool-tmp`);
}

export function objectIdentity(uri: string, offset: number, length: number | undefined): string {
  return createHash('sha256').update(`${uri}\0${offset}\0${length ?? ''}`).digest('hex');
}

const ours = (st: Stats | undefined) => st !== undefined && st.isFile() && (process.getuid === undefined || st.uid === process.getuid());
const lstatOrNot = (path: string) => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};
const unlinkQuietly = (path: string) => {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
};

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // an earlier download of this process that was stopped
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readState(path: string): State | undefined {
  const st = lstatOrNot(path);
  if (!ours(st) || st!.size > STATE_LIMIT) return undefined;
  try {
    const fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
    try {
      // At most the limit, whatever the file grew to since its size was seen.
      const text = Buffer.alloc(STATE_LIMIT);
      const state = JSON.parse(text.toString('utf8', 0, readSync(fd, text, 0, STATE_LIMIT, 0))) as State;
      return state?.v === 1 && Number.isSafeInteger(state.pid) && typeof state.object === 'string' && Array.isArray(state.done) ? state : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

function toMeta(m: SavedMeta): ObjectMeta {
  const c = m.checksums;
  return {
    size: m.size,
    etag: m.etag,
    generation: m.generation,
    lastModified: m.lastModified ? new Date(m.lastModified) : undefined,
    checksums: c ? { crc32c: c.crc32c, crc64nvme: c.crc64nvme !== undefined ? BigInt(`0x${c.crc64nvme}`) : undefined, md5: c.md5 } : undefined,
  };
}

function fromMeta(m: ObjectMeta): SavedMeta {
  const c = m.checksums;
  return {
    size: m.size,
    etag: m.etag,
    generation: m.generation,
    lastModified: m.lastModified?.toISOString(),
    checksums: c ? { crc32c: c.crc32c, crc64nvme: c.crc64nvme?.toString(16), md5: c.md5 } : undefined,
  };
}

export class PartFile {
  private stateFd: number | undefined;
  private meta: ObjectMeta | undefined;
  private savedAt = 0;
  private closed = false;
  /** Bytes written since the state was last saved (saved on a timer too: ranges that stall write nothing). */
  private dirty = false;
  private readonly timer: NodeJS.Timeout | undefined;
  /** With resume: what a killed run left for this object, to be continued. */
  readonly resumed: { meta: ObjectMeta; done: Extents } | undefined;

  private constructor(
    readonly path: string,
    readonly fd: number,
    private readonly statePath: string | undefined,
    private readonly object: string,
    private readonly done: Extents,
    resumed: ObjectMeta | undefined,
  ) {
    this.resumed = resumed ? { meta: resumed, done } : undefined;
    this.meta = resumed;
    if (statePath) {
      this.stateFd = openSync(statePath, constants.O_WRONLY | NOFOLLOW);
      this.timer = setInterval(() => this.dirty && this.save(), SAVE_EVERY_MS).unref();
    }
    this.save();
  }

  /** The temporary file for `target` (see above); `resume` continues a leftover of the same object. */
  static open(target: string, object: string, opts: { resume: boolean; mode: number }): PartFile {
    const path = partFilePath(target);
    const statePath = `${path}.state`;
    const leftover = lstatOrNot(path);
    const state = leftover || lstatOrNot(statePath) ? readState(statePath) : undefined;
    if (state && alive(state.pid)) return PartFile.unnamed(target, object, opts.mode); // another run's: left alone
    if (leftover && ours(leftover) && opts.resume && state?.object === object && state.meta && strongValidator(toMeta(state.meta))) {
      const meta = toMeta(state.meta);
      try {
        const fd = openSync(path, constants.O_RDWR | NOFOLLOW);
        const st = fstatSync(fd);
        const done = new Extents(state.done.filter(([s, e]) => Number.isSafeInteger(s) && Number.isSafeInteger(e) && 0 <= s && s < e && e <= meta.size));
        if (st.ino === leftover.ino && st.size <= meta.size) return new PartFile(path, fd, statePath, object, done, meta);
        closeSync(fd);
      } catch {
        /* not usable: started over below */
      }
    }
    // Not ours to continue (or not wanted): a leftover of a run that is gone goes, and a fresh one is made.
    if (leftover && !leftover.isDirectory()) unlinkQuietly(path);
    unlinkQuietly(statePath);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, opts.mode);
    try {
      closeSync(openSync(statePath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600));
    } catch (e) {
      closeSync(fd);
      unlinkQuietly(path);
      throw e;
    }
    return new PartFile(path, fd, statePath, object, new Extents(), undefined);
  }

  /** A temporary file of a random name, not resumable: where another run holds the fixed one. */
  private static unnamed(target: string, object: string, mode: number): PartFile {
    const path = join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}.rangepool-tmp`);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
    return new PartFile(path, fd, undefined, object, new Extents(), undefined);
  }

  /** Bytes already in the file (continued from a leftover). */
  get bytes(): number {
    return this.done.bytes;
  }

  /** What the object is: from now on the state can be continued (when ranges of it can be pinned). */
  start(meta: ObjectMeta, size: number): void {
    if (!this.resumed) ftruncateSync(this.fd, size); // its final size at once: no growth on every write
    if (strongValidator(meta)) this.meta = meta;
    this.save();
  }

  /** Bytes at their place in the file, written now (into the page cache while they are still in the CPU's). */
  write(at: number, bytes: Buffer): void {
    for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off, at + off);
    this.done.add(at, bytes.length);
    this.dirty = true;
    if (this.stateFd !== undefined && performance.now() - this.savedAt >= SAVE_EVERY_MS) this.save();
  }

  /** Writes the state: who writes, which object and version, which bytes are in. */
  private save(): void {
    if (this.stateFd === undefined || this.closed) return;
    this.savedAt = performance.now();
    this.dirty = false;
    const state: State = { v: 1, pid: process.pid, object: this.object, ...(this.meta ? { meta: fromMeta(this.meta) } : {}), done: this.done.toJSON() };
    const text = Buffer.from(JSON.stringify(state));
    ftruncateSync(this.stateFd, 0);
    for (let off = 0; off < text.length; ) off += writeSync(this.stateFd, text, off, text.length - off, off);
  }

  /** Complete: synced if asked, then it takes the final name and the state goes. */
  async commit(target: string, sync: boolean): Promise<void> {
    if (sync) await promisify(fsync)(this.fd);
    this.close();
    renameSync(this.path, target);
    if (this.statePath) unlinkQuietly(this.statePath);
  }

  /** Failed: removed, or with `keep` (and a version to continue against) left for the next run. Returns whether kept. */
  discard(keep: boolean): boolean {
    const kept = keep && this.statePath !== undefined && this.meta !== undefined && this.done.bytes > 0;
    if (kept) this.save();
    this.close();
    if (!kept) {
      unlinkQuietly(this.path);
      if (this.statePath) unlinkQuietly(this.statePath);
    }
    return kept;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    closeSync(this.fd);
    if (this.stateFd !== undefined) closeSync(this.stateFd);
  }
}
