// The rules of a download's temporary file: its name, who may write it, what its state says, and how it
// becomes the final file. Everything here holds with a killed run, a second run at once, and tampering.
//
// - Name: .NAME.rangepool-tmp beside the target (a digest of NAME where that would pass the file system's
//   255 bytes); its state is .NAME.rangepool-tmp.state. Targets named like these are refused: a key
//   `.x.rangepool-tmp` would otherwise land on x's temporary file.
// - Writer: whoever holds the flock on the temporary file (file-lock.ts): the kernel drops it when its
//   holder dies, so a leftover is taken over only when its writer is gone, and never twice. A run that
//   finds the name locked writes a temporary of a random name instead (made as NAME.new and locked before
//   it takes its name; swept once its writer is gone: when a leftover is taken over, and in each directory
//   the first time this process writes there).
//   Without flock, the pid in the state decides, and an unreadable state means "leave it alone".
// - State: which object (a digest of its URI and span), which version, the file's length and the byte
//   runs in it, with a digest of all that. Written to .state.tmp and renamed over .state (never seen
//   half-written), and only after the bytes it names were fdatasync'ed: after a crash or a power loss a
//   run never names holes as written. A leftover is continued only when its state is whole, for the same
//   object, of a version its missing ranges can be pinned to (a strong validator, or a date where the
//   caller opted in), and the file has exactly the length the state says.
// - Commit: the state goes first, then the file takes the final name while still locked.
// Every file is opened with O_NOFOLLOW and created with O_EXCL: nothing is written through a planted link.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fdatasync, fdatasyncSync, fstatSync, fsync, ftruncateSync, lstatSync, openSync, readSync, readdirSync, renameSync, unlinkSync, write, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { RangepoolError, invalidArgument, printable } from '../errors.js';
import type { ObjectMeta } from '../stores/store.js';
import { Extents } from './extents.js';
import { directRuns, openDirect } from './direct-io.js';
import { preallocate } from './file-space.js';
import { tryLock } from './file-lock.js';
import { orNot } from './output-file.js';

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;
/** The state is a few runs of numbers; anything larger was not written by us. */
const STATE_LIMIT = 1 << 20;
/** How often the state is rewritten while bytes land (a kill loses at most about this much of the work). */
const SAVE_EVERY_MS = 1000;
/** The longest file name (bytes) on the file systems rangepool writes to. */
const NAME_MAX = 255;
const SUFFIX = '.rangepool-tmp';
/** The longest name derived from a target: a random temporary (16 hex digits) being made, or the state's own temporary. */
const LONGEST_EXTRA = Math.max(1 + 1 + 16 + SUFFIX.length + '.new'.length, 1 + SUFFIX.length + '.state.tmp'.length);
const RESERVED = /\.rangepool-tmp(\.state(\.tmp)?|\.new)?$/;

interface SavedMeta {
  size: number;
  etag?: string;
  generation?: string;
  lastModified?: string;
  checksums?: { crc32c?: number; crc64nvme?: string; md5?: string };
}

interface State {
  v: 2;
  /** Who wrote it (what decides liveness where there is no flock). */
  pid: number;
  /** A hash of the object's URI and span: a leftover of another object is never continued. */
  object: string;
  meta?: SavedMeta;
  /** The temporary file's length once started: a leftover of any other length is not this run's. */
  length?: number;
  done: Array<[number, number]>;
}

/** Whether a file name is one rangepool keeps for its temporary files (such a target is refused). */
export function isReservedName(name: string): boolean {
  return RESERVED.test(name);
}

/** What temporary names of `target` start with: its name, or a digest of it where that would be too long. */
function stem(target: string): string {
  const name = basename(target);
  if (Buffer.byteLength(name) + LONGEST_EXTRA <= NAME_MAX) return name;
  return `${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** The fixed name of the temporary file for `target` (its state file adds `.state`). */
export function partFilePath(target: string): string {
  return join(dirname(target), `.${stem(target)}${SUFFIX}`);
}

/** Refuses a target that could not be written through its temporary file (see the rules above). */
export function checkTargetName(target: string): void {
  const name = basename(target);
  if (isReservedName(name)) throw invalidArgument(`${printable(target)} is named like rangepool's temporary files (${SUFFIX}): it is not written, so it cannot land on another download's`);
  if (Buffer.byteLength(name) > NAME_MAX) throw invalidArgument(`the file name ${printable(name)} is longer than ${NAME_MAX} bytes`);
}

export function objectIdentity(uri: string, offset: number, length: number | undefined): string {
  return createHash('sha256').update(`${uri}\0${offset}\0${length ?? ''}`).digest('hex');
}

const ours = (st: Stats | undefined): boolean => st !== undefined && st.isFile() && (process.getuid === undefined || st.uid === process.getuid());
const lstatOrNot = (path: string) => orNot(lstatSync, path);
const unlinkQuietly = (path: string) => {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
};
const closeQuietly = (fd: number) => {
  try {
    closeSync(fd);
  } catch {
    /* closed */
  }
};

/** Part files this process holds (by path): where there is no flock, a pid alone cannot tell two of its downloads apart. */
const held = new Set<string>();

/** Whether the process `pid` runs (this process's own files are told apart by `held`). */
function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const digest = (body: string) => createHash('sha256').update(body).digest('hex');

/** The state as written: its JSON, then a line with the digest of that JSON (an edit or a cut shows). */
function encodeState(state: State): Buffer {
  const body = JSON.stringify(state);
  return Buffer.from(`${body}\n${digest(body)}\n`);
}

function readState(path: string): State | undefined {
  const st = lstatOrNot(path);
  if (!st || !ours(st) || st.size > STATE_LIMIT) return undefined;
  try {
    const fd = openSync(path, constants.O_RDONLY | NOFOLLOW | NONBLOCK);
    try {
      // At most the limit, whatever the file grew to since its size was seen.
      const buf = Buffer.alloc(STATE_LIMIT);
      const [body, sum, rest] = buf.toString('utf8', 0, readSync(fd, buf, 0, STATE_LIMIT, 0)).split('\n');
      if (body === undefined || sum !== digest(body) || rest !== '') return undefined;
      const s = JSON.parse(body) as State;
      const runs = Array.isArray(s?.done) && s.done.every((r) => Array.isArray(r) && r.length === 2 && r.every(Number.isSafeInteger));
      return s.v === 2 && Number.isSafeInteger(s.pid) && typeof s.object === 'string' && runs ? s : undefined;
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

/** A new file at `path` (O_EXCL, never through a link), or undefined where the name is taken. */
function create(path: string, mode: number): number | undefined {
  try {
    return openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw e;
  }
}

/** A leftover at `path` opened for writing (a regular file of this user, still at that name), or undefined. */
function openLeftover(path: string, st: Stats): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | NOFOLLOW | NONBLOCK);
  } catch {
    return undefined;
  }
  const now = fstatSync(fd);
  if (now.ino !== st.ino || now.dev !== st.dev || !ours(now)) {
    closeSync(fd);
    return undefined;
  }
  return fd;
}

export class PartFile {
  private meta: ObjectMeta | undefined;
  private closed = false;
  /** With direct(): the file's O_DIRECT descriptor; closed only with the file (writes may be in flight on it). */
  private directFd: number | undefined;
  /** A direct write was refused: every byte goes the ordinary way from then on. */
  private directRefused = false;
  /** Bytes written through O_DIRECT. */
  directBytes = 0;
  /** Bytes written since the state was last saved (saved on a timer: ranges that stall write nothing). */
  private dirty = false;
  /** Counts forget()s: a save that began before one does not name what it took back. */
  private forgets = 0;
  /** A save in flight (the data's fdatasync, then the state): commit and discard wait for it. */
  private saving: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private length: number | undefined;
  /** With resume: what a killed run left for this object, to be continued. */
  readonly resumed: { meta: ObjectMeta; done: Extents } | undefined;

  private constructor(
    readonly path: string,
    readonly fd: number,
    /** Undefined for a temporary of a random name: never continued, so it has no state. */
    private readonly statePath: string | undefined,
    private readonly object: string,
    private readonly done: Extents,
    resumed: ObjectMeta | undefined,
    /** Without flock the state says who writes from the start (the pid rules need it at once). */
    locked: boolean,
    /** Whether ranges of a version can be held to it (a strong validator, or a date where opted in): only then is it continued. */
    private readonly pinnable: (meta: ObjectMeta) => boolean,
  ) {
    held.add(path);
    this.resumed = resumed ? { meta: resumed, done } : undefined;
    this.meta = resumed;
    this.length = resumed ? fstatSync(fd).size : undefined;
    if (statePath) {
      this.timer = setInterval(() => this.dirty && !this.saving && (this.saving = this.saveSynced().finally(() => (this.saving = undefined))), SAVE_EVERY_MS).unref();
      if (!locked) this.writeState(this.done.toJSON());
    }
  }

  /**
   * The temporary file for `target` (see the rules above); `resume` continues a leftover of the same
   * object. A leftover that is not continued is removed once its writer is known to be gone.
   */
  static open(target: string, object: string, opts: { resume: boolean; mode: number; pinnable: (meta: ObjectMeta) => boolean }): PartFile {
    checkTargetName(target);
    const path = partFilePath(target);
    const statePath = `${path}.state`;
    for (let tries = 0; tries < 8; tries++) {
      const fd = create(path, opts.mode);
      if (fd !== undefined) {
        const lock = tryLock(fd);
        if (lock === 'busy') {
          closeSync(fd); // another run opened the new file and locked it first: it is theirs
          break;
        }
        removeState(statePath); // a state without its file is nobody's
        if (lock === 'locked') sweep(dirname(target), true);
        return new PartFile(path, fd, statePath, object, new Extents(), undefined, lock === 'locked', opts.pinnable);
      }
      const st = lstatOrNot(path);
      if (!st) continue; // gone meanwhile (committed, or removed by the run that took it over)
      if (!ours(st)) {
        // Our name, taken by something else (a planted link, a FIFO, another user's file): removed where we may.
        if (st.isDirectory()) break;
        try {
          unlinkSync(path);
          continue;
        } catch {
          break;
        }
      }
      const leftover = openLeftover(path, st);
      if (leftover === undefined) continue;
      const lock = tryLock(leftover);
      const state = readState(statePath);
      // Without flock: gone when its state names a process that has ended (or this one, for a file it no longer holds).
      const gone = lock === 'locked' ? lstatOrNot(path)?.ino === st.ino : lock === 'unsupported' && state !== undefined && !held.has(path) && !alive(state.pid);
      if (!gone) {
        closeSync(leftover); // its writer runs (or may: an unreadable state without flock)
        if (lock === 'locked') continue; // it was committed or replaced while we looked: look again
        break;
      }
      if (lock === 'locked') sweep(dirname(target), false);
      const meta = state?.meta && toMeta(state.meta);
      const length = fstatSync(leftover).size;
      if (opts.resume && state?.object === object && meta && opts.pinnable(meta) && state.length === length && length <= meta.size) {
        const done = new Extents(state.done.filter(([s, e]) => 0 <= s && s < e && e <= length));
        return new PartFile(path, leftover, statePath, object, done, meta, lock === 'locked', opts.pinnable);
      }
      // Not ours to continue (or not wanted): removed while we hold it, and made afresh.
      removeState(statePath);
      unlinkQuietly(path);
      closeSync(leftover);
    }
    return PartFile.unnamed(target, object, opts);
  }

  /**
   * A temporary file of a random name, not resumable: where another run holds the fixed one. Made under a
   * name the sweep passes over and locked before it takes its own: a sweep never sees it unlocked.
   */
  private static unnamed(target: string, object: string, opts: { mode: number; pinnable: (meta: ObjectMeta) => boolean }): PartFile {
    const path = join(dirname(target), `.${stem(target)}.${randomBytes(8).toString('hex')}${SUFFIX}`);
    const making = `${path}.new`;
    const fd = openSync(making, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, opts.mode);
    try {
      tryLock(fd);
      renameSync(making, path);
    } catch (e) {
      closeQuietly(fd);
      unlinkQuietly(making);
      throw e;
    }
    return new PartFile(path, fd, undefined, object, new Extents(), undefined, true, opts.pinnable);
  }

  /** Bytes already in the file (continued from a leftover). */
  get bytes(): number {
    return this.done.bytes;
  }

  /** What the object is, and the file's length: from now on the state can be continued (when ranges of it can be pinned). */
  start(meta: ObjectMeta, length: number): void {
    if (this.resumed) return; // continued: its meta and length are the state's
    ftruncateSync(this.fd, length); // its final size at once: no growth on every write
    preallocate(this.fd, this.path, length); // and its blocks: one that cannot fit fails here, not gigabytes later
    this.length = length;
    if (this.pinnable(meta)) this.meta = meta;
  }

  /**
   * Bytes at their place in the file, written on libuv's pool (off the thread that reads the sockets);
   * named as written once the write has ended. `bytes` must stay as they are until it resolves.
   */
  write(at: number, bytes: Buffer): Promise<void> {
    const runs = this.directFd === undefined || this.directRefused ? [{ start: 0, end: bytes.length, direct: false }] : directRuns(at, bytes);
    return Promise.all(runs.map((r) => this.writeRun(at, bytes, r.start, r.end, r.direct))).then(() => {
      this.done.add(at, bytes.length);
      this.dirty = true;
    });
  }

  /** Writes from now on go through O_DIRECT where aligned (files/direct-io.ts); throws where that cannot be. */
  direct(): void {
    this.directFd = openDirect(this.path, this.fd);
  }

  private writeRun(at: number, bytes: Buffer, start: number, end: number, direct: boolean): Promise<void> {
    if (direct && this.directRefused) return this.writeRun(at, bytes, start, end, false);
    const fd = direct ? this.directFd! : this.fd;
    return new Promise<void>((resolve, reject) => {
      const from = (off: number) =>
        write(fd, bytes, off, end - off, at + off, (e, n) => {
          if (e) return reject(e);
          if (off + n < end) return from(off + n);
          if (direct) this.directBytes += end - start;
          resolve();
        });
      from(start);
    }).catch((e: NodeJS.ErrnoException) => {
      // EINVAL: an alignment this device does not take after all; those bytes, and the rest, the ordinary way.
      if (!direct || e.code !== 'EINVAL') throw e;
      this.directRefused = true;
      return this.writeRun(at, bytes, start, end, false);
    });
  }

  /** Bytes written earlier that are not to be trusted after all (a response that ran past its length). */
  forget(at: number, length: number): void {
    this.done.remove(at, length);
    this.forgets++;
    this.dirty = true;
  }

  /** The runs written so far, saved once they are on the disk (their fdatasync first): never a hole named as written. */
  private async saveSynced(): Promise<void> {
    const runs = this.done.toJSON();
    const forgets = this.forgets;
    this.dirty = false;
    await promisify(fdatasync)(this.fd);
    if (this.closed) return;
    if (forgets === this.forgets) this.writeState(runs);
    else this.dirty = true; // some of those runs were taken back: the next save names what is left
  }

  /** Writes the state atomically (a temporary, renamed over it): a reader sees the old one or the new one. */
  private writeState(runs: Array<[number, number]>): void {
    if (!this.statePath) return;
    const state: State = { v: 2, pid: process.pid, object: this.object, ...(this.meta ? { meta: fromMeta(this.meta) } : {}), ...(this.length !== undefined ? { length: this.length } : {}), done: runs };
    const text = encodeState(state);
    const tmp = `${this.statePath}.tmp`;
    unlinkQuietly(tmp); // a crashed save's: the name is ours while we hold the file
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
    try {
      for (let off = 0; off < text.length; ) off += writeSync(fd, text, off, text.length - off, off);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.statePath);
  }

  /** Complete: synced if asked; the state goes, then the file takes the final name (still locked: nobody takes it over meanwhile). */
  async commit(target: string, sync: boolean): Promise<void> {
    await this.settle();
    if (sync) await promisify(fsync)(this.fd);
    if (this.statePath) removeState(this.statePath);
    try {
      // The name must still be this file's: a run that removed something else planted at it an instant
      // after this one replaced it would otherwise have this rename take another run's file.
      const named = lstatOrNot(this.path);
      const mine = fstatSync(this.fd);
      if (named?.ino !== mine.ino || named.dev !== mine.dev) throw new RangepoolError('LocalIO', `the temporary file ${printable(this.path)} was removed by another process while it was written`, { retryable: false });
      renameSync(this.path, target);
    } finally {
      this.close();
    }
  }

  /** Failed: removed, or with `keep` (and a version to continue against) left for the next run. Returns whether kept. */
  async discard(keep: boolean): Promise<boolean> {
    await this.settle();
    let kept = keep && !this.closed && this.statePath !== undefined && this.meta !== undefined && this.done.bytes > 0;
    if (kept) {
      try {
        fdatasyncSync(this.fd);
        this.writeState(this.done.toJSON());
      } catch {
        kept = false; // no state: what was written cannot be continued
      }
    }
    if (!kept) {
      if (this.statePath) removeState(this.statePath);
      unlinkQuietly(this.path);
    }
    this.close();
    return kept;
  }

  /** No save runs after this. */
  private async settle(): Promise<void> {
    clearInterval(this.timer);
    await this.saving?.catch(() => {});
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    held.delete(this.path);
    if (this.directFd !== undefined) closeQuietly(this.directFd);
    closeQuietly(this.fd);
  }
}

/** Removes a state and what a crashed save of it left (most often neither is there). */
function removeState(statePath: string): void {
  for (const path of [statePath, `${statePath}.tmp`]) if (lstatOrNot(path)) unlinkQuietly(path);
}

/** Directories this process has swept once already (a directory of many downloads is read once). */
const swept = new Set<string>();

/**
 * Removes temporaries of a random name in `dir` whose writers are gone (their flock is free): what a
 * killed run left where another held the fixed name. Each directory once per process, unless `again`.
 */
function sweep(dir: string, once: boolean): void {
  if (once && swept.has(dir)) return;
  swept.add(dir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^\..*\.[0-9a-f]{16}\.rangepool-tmp$/s.test(name)) continue;
    const path = join(dir, name);
    const st = lstatOrNot(path);
    if (!st || st.isDirectory()) continue;
    if (!st.isFile()) {
      unlinkQuietly(path); // a link or FIFO planted at a name of ours: only the name goes
      continue;
    }
    if (!ours(st)) continue;
    const fd = openLeftover(path, st);
    if (fd === undefined) continue;
    if (tryLock(fd) === 'locked' && lstatOrNot(path)?.ino === st.ino) unlinkQuietly(path);
    closeSync(fd);
  }
}
