// The addon's half of a socket that reads in native code (native-tls.ts, native-plain.ts): one channel of
// native/tls_reader.h. It names one destination at a time (onread.buffer()) and hears back once for it
// (onread.callback()), pauses and resumes, and lets go of the destination synchronously on close. Where the
// socket stays on Node's reads instead, copy() hands Node's chunks to onread the same way, keeping what
// arrives while paused.
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { debuglog } from 'node:util';
import { binding } from '../native.js';
import type { OnRead } from './socket-contract.js';

const debug = debuglog('rangepool');

/** Events the addon delivered on this thread (one per destination it filled or piece it reported). */
export const tlsCounters = { events: 0 };

const END_EVENTS = ['', 'close_notify', 'end of stream'];

export class NativeReads {
  paused = false;
  private handle: object | undefined;
  /** The destination the addon holds, until its event. */
  private pending: Uint8Array | undefined;
  private refed = true;
  private closed = false;
  /** The addon was told to stop reading: it stays so until told otherwise, whatever events come meanwhile. */
  private stopped = false;
  /** Node's reads: bytes that arrived while paused. */
  private backlog: Buffer[] = [];

  constructor(
    private readonly onread: OnRead,
    private readonly on: { end: () => void; fail: (e: Error | string) => void },
  ) {}

  /** Hands `fd` to the addon (binding.tlsOpen's arguments; suite 0: a plain connection). Throws where it refuses. */
  open(fd: number, suite: number, key: Uint8Array, iv: Uint8Array, seq: number, early: Uint8Array, handshake: Uint8Array): void {
    this.handle = binding!.tlsOpen(fd, suite, key, iv, seq, early, handshake, (b, e, m) => this.onEvent(b, e, m));
    binding!.tlsRef(this.handle, this.refed);
    if (!this.paused) this.next();
  }

  /** Node's reads: a chunk copied where onread says (kept while paused). */
  copy(chunk: Buffer): void {
    if (this.paused || this.backlog.length > 0) return void this.backlog.push(chunk);
    let at = 0;
    while (at < chunk.length && !this.closed) {
      const buf = this.onread.buffer();
      const n = Math.min(buf.length, chunk.length - at);
      buf.set(chunk.subarray(at, at + n));
      at += n;
      if (this.onread.callback(n, buf) === false) this.pause();
      if (this.paused && at < chunk.length) return void this.backlog.push(chunk.subarray(at));
    }
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (this.handle && this.pending) {
      binding!.tlsPause(this.handle, true);
      this.stopped = true;
    }
  }

  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    for (const chunk of this.backlog.splice(0)) this.copy(chunk);
    if (!this.handle || this.paused) return;
    // Told to stop while it held a destination: it may have reported that one since, and still be stopped.
    if (this.stopped) binding!.tlsPause(this.handle, false);
    this.stopped = false;
    this.next();
  }

  /** After it returns the addon writes no destination and sends no event. */
  close(): void {
    this.closed = true;
    if (this.handle) binding!.tlsClose(this.handle);
    this.pending = undefined;
  }

  /** Whether waiting for the addon's events keeps the event loop alive. */
  ref(on: boolean): void {
    this.refed = on;
    if (this.handle && !this.closed) binding!.tlsRef(this.handle, on);
  }

  /** TLS records the addon decrypted (tests). */
  get records(): number {
    return this.handle && !this.closed ? binding!.tlsRecords(this.handle) : 0;
  }

  /** Names the next destination to the addon. */
  private next(): void {
    if (this.closed || this.paused || this.pending || !this.handle) return;
    const buf = this.onread.buffer();
    this.pending = buf;
    binding!.tlsTarget(this.handle, buf, this.onread.fills?.(buf) ?? false);
  }

  private onEvent(bytes: number, end: number, error: string | undefined): void {
    const buf = this.pending;
    if (this.closed || !buf) return; // closed while this event was on its way
    this.pending = undefined;
    tlsCounters.events++;
    try {
      if (bytes > 0 && this.onread.callback(bytes, buf) === false) this.pause();
      if (end === 3) this.on.fail(error ?? 'the native reader failed');
      else if (end !== 0) {
        debug('native reads ended (%s)', END_EVENTS[end]);
        this.on.end();
      } else this.next();
    } catch (e) {
      this.on.fail(e as Error);
    }
  }
}

/**
 * What a socket that reads through the addon shares (native-tls.ts, native-plain.ts): the raw TCP socket it
 * writes through and connects with, its channel, and how it closes: the addon lets go of the destination
 * first (synchronously), then the sockets close.
 */
export abstract class NativeReadSocket extends EventEmitter {
  destroyed = false;
  protected abstract readonly raw: net.Socket;
  protected abstract readonly reads: NativeReads;

  /** What else the socket holds (Node's TLS socket), closed between the addon and the raw socket. */
  protected closeMore(): void {}

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.reads.close();
    this.closeMore();
    this.raw.destroy();
    process.nextTick(() => {
      if (error) this.emit('error', error);
      this.emit('close', error !== undefined);
    });
    return this;
  }

  setNoDelay(on = true): this {
    this.raw.setNoDelay(on);
    return this;
  }

  setTimeout(ms: number): this {
    this.raw.setTimeout(ms);
    return this;
  }

  ref(): this {
    this.raw.ref();
    this.reads.ref(true);
    return this;
  }

  unref(): this {
    this.raw.unref();
    this.reads.ref(false);
    return this;
  }
}

/** A socket's file descriptor (POSIX), where Node's handle exposes one. */
export function socketFd(socket: net.Socket): number | undefined {
  const n = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof n === 'number' && n >= 0 ? n : undefined;
}
