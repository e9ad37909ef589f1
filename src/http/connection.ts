// One keep-alive HTTP/1.1 connection whose socket reads land where we say (net/tls `onread` with a buffer
// function): response heads into a small scratch buffer, bodies straight into the caller's memory. There
// is no chunk, no copy in JavaScript and nothing for the GC, except for the bytes that arrive in the same
// read as a head (moved once). One request at a time.
//
// Safety rule: the socket's next read goes into the caller's memory only while a body is being read. When
// the body is complete the next buffer is the scratch again, and on any failure the socket is destroyed
// (which stops reading at once) before the caller hears of it, so a released pooled buffer is never written.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { debuglog } from 'node:util';
import { findHeadEnd, HeadSyntaxError, parseHead, type ResponseHead } from './head.js';
import { connectNativePlain, nativePlainFor } from './native-plain.js';
import { connectNativeTls, nativeTlsFor } from './native-tls.js';
import type { OnRead, Origin, TlsPath } from './socket-contract.js';

export type { OnRead, Origin, TlsPath } from './socket-contract.js';

/** A bandwidth cap as the reader sees it (engine/rate-limit.ts): pay for bytes read, learn how long to wait. */
export interface ByteBudget {
  /** Accounts `n` bytes read; the ms to wait before reading more (0: go on). */
  take(n: number): number;
  /** The most bytes one read may take. */
  readonly maxRead: number;
}

const debug = debuglog('rangepool');

/** Largest response head accepted: Node's own default limit for HTTP headers. */
export const HEAD_LIMIT = 16 * 1024;
/** Size of one spill buffer, and the most that may queue in them (reading stops at PAUSE_AT; TLS may hand over a little more). */
const SPILL_BYTES = 64 * 1024;
const SPILL_LIMIT = 4 * 1024 * 1024;
const PAUSE_AT = 1024 * 1024;
/**
 * A chunk size (hex, at most 2^48) and extensions as RFC 9112 7.1.1 writes them, with no whitespace
 * anywhere (`;name` or `;name=token` or `;name="quoted"`): what llhttp takes, and nothing it refuses.
 */
const EXT_TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const EXT_QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t\\x20-\\x7e\\x80-\\xff])*"';
const CHUNK_SIZE_LINE = new RegExp(`^([0-9a-fA-F]{1,12})(?:;${EXT_TOKEN}(?:=(?:${EXT_TOKEN}|${EXT_QUOTED}))?)*$`);
/** A trailer field: its content is ignored, but it must still be a header line. */
const TRAILER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*$/;

export type ConnectionErrorKind =
  | 'stale' // a reused socket closed before any byte of the response: the request can go again on a fresh one
  | 'closed' // the connection broke or closed mid-response
  | 'protocol' // the server sent something that is not HTTP/1.1 as asked for
  | 'head-too-large'
  | 'body-too-long'; // more body than the destination holds

/** Calls into JavaScript that delivered bytes of an https: response (one per read or native piece), for the benchmark. */
export const tlsReadCalls = { count: 0 };

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly kind: ConnectionErrorKind,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
  }
}

/**
 * A body's destination as a ring of small blocks instead of one buffer (download() to a file): the blocks
 * are filled one after another, each asked for once the one before is full. Memory is the ring, whatever
 * the body's length; while the ring has no free block, the socket is not read (TCP's own backpressure).
 */
export interface Landing {
  /** The body's length in all (more is 'body-too-long', as for a buffer). */
  readonly length: number;
  /** The block the next bytes land in, or undefined while none is free: `ready` is then called once one may be. */
  next(ready: () => void): Uint8Array | undefined;
}

/** Opens the socket a Connection reads from (a test may hand it a scripted one). */
export type Connect = (origin: Origin, tlsOptions: tls.ConnectionOptions, onread: OnRead) => net.Socket;

function connectSocket(origin: Origin, tlsOptions: tls.ConnectionOptions, onread: OnRead): net.Socket {
  if (origin.protocol === 'https:' && nativeTlsFor(origin)) return connectNativeTls(origin, tlsOptions, onread);
  if (origin.protocol === 'http:' && nativePlainFor()) return connectNativePlain(origin, onread);
  return origin.protocol === 'https:'
    ? tls.connect({ ...tlsOptions, host: origin.hostname, port: origin.port, servername: net.isIP(origin.hostname) ? undefined : origin.hostname, onread } as tls.ConnectionOptions)
    : net.connect({ host: origin.hostname, port: origin.port, onread });
}

/** 'waiting': the head is read and the body waits for readBody() to say where it goes. */
type Phase = 'idle' | 'head' | 'waiting' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'done' | 'dead';
type Framing = 'length' | 'chunked' | 'close' | 'none';

interface Waiter {
  resolve: (value: never) => void;
  reject: (e: unknown) => void;
}

export class Connection {
  readonly socket: net.Socket;
  /** Whether the connection served a response before this one (a failure before any byte is then 'stale'). */
  reused = false;
  private readonly scratch = Buffer.allocUnsafe(HEAD_LIMIT);
  /** Unconsumed bytes in scratch[start, end). */
  private start = 0;
  private end = 0;
  private scanned = 0;
  private phase: Phase = 'idle';
  private framing: Framing = 'none';
  private keepAlive = false;
  private responseBytes = 0;
  /**
   * Body destination (a buffer, or a landing's current block), bytes written into it, the body's bytes so
   * far and the most it may have, and bytes still due (of the body, or of the current chunk).
   */
  private dest: Uint8Array | undefined;
  private landing: Landing | undefined;
  private at = 0;
  private total = 0;
  private capacity = 0;
  private due = 0;
  private truncate = false;
  private onData: ((n: number) => void) | undefined;
  /** The bandwidth cap a body is read under (readBody's `limit`), and the timer that resumes reading after a wait. */
  private limit: ByteBudget | undefined;
  private limitWait: NodeJS.Timeout | undefined;
  /** Bytes that arrived while scratch was full (see nextBuffer), in order, after scratch's. */
  private readonly spilled: Uint8Array[] = [];
  private spilledBytes = 0;
  private waiter: Waiter | undefined;
  private connected: Promise<void>;
  /**
   * The socket ended (error undefined: a clean end) or failed while a body waited for readBody() or for
   * its landing's next block. Reading stopped, but what arrived before stays buffered: it is still
   * delivered (so a retry resumes after it), then the body ends (a close-delimited one) or fails with this.
   */
  private held: { error: unknown } | undefined;

  constructor(
    readonly origin: Origin,
    tlsOptions: tls.ConnectionOptions = {},
    connect: Connect = connectSocket,
  ) {
    this.socket = connect(origin, tlsOptions, {
      buffer: () => this.nextBuffer(),
      callback: (n, buf) => this.onRead(n, buf),
      fills: (buf) => this.dest !== undefined && buf.buffer === this.dest.buffer,
    });
    this.socket.setNoDelay(true);
    this.connected = new Promise<void>((resolve, reject) => {
      this.socket.once(origin.protocol === 'https:' ? 'secureConnect' : 'connect', resolve);
      this.socket.once('error', reject);
    });
    this.connected.catch(() => {});
    this.socket.on('error', (e) => (this.phase === 'waiting' || this.waitsForRoom || this.held ? this.hold(this.brokenError(e)) : this.fail(this.brokenError(e))));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.onEnd());
  }

  /** Over https:, how bodies are decrypted (see native-tls.ts). */
  get tlsPath(): TlsPath | undefined {
    if (this.origin.protocol !== 'https:') return undefined;
    return (this.socket as unknown as { path?: TlsPath }).path ?? 'node';
  }

  /** Idle and able to take another request. */
  get reusable(): boolean {
    return (this.phase === 'idle' || this.phase === 'done') && this.keepAlive && this.start === this.end && this.spilled.length === 0 && !this.socket.destroyed;
  }

  get alive(): boolean {
    return this.phase !== 'dead' && !this.socket.destroyed;
  }

  /** Sends a request head and resolves with the response head; the body waits for readBody(). */
  async send(head: string, signal?: AbortSignal): Promise<ResponseHead> {
    if (!this.alive) throw new ConnectionError(this.reused ? 'stale' : 'closed', 'the connection is closed');
    this.phase = 'head';
    this.responseBytes = 0;
    this.scanned = this.start;
    this.keepAlive = false;
    const result = this.wait<ResponseHead>(signal);
    this.connected.then(
      () => this.socket.write(head, 'latin1'),
      () => {},
    );
    return result;
  }

  /**
   * Reads the whole body into dest (a buffer, or a landing's blocks). Resolves with the body's length. A
   * body longer than dest fails ('body-too-long'), unless `truncate` is set (a buffer): then what fits is
   * kept and the connection is dropped.
   */
  readBody(dest: Uint8Array | Landing, opts: { signal?: AbortSignal; onData?: (n: number) => void; truncate?: boolean; limit?: ByteBudget | undefined } = {}): Promise<number> {
    if (this.phase !== 'waiting') return Promise.reject(new Error(`readBody in phase ${this.phase}`));
    this.landing = dest instanceof Uint8Array ? undefined : dest;
    this.dest = dest instanceof Uint8Array ? dest : dest.next(this.roomAgain);
    this.at = this.total = 0;
    this.capacity = dest.length;
    if (this.landing && !this.dest) this.socket.pause();
    this.onData = opts.onData;
    this.limit = opts.limit;
    this.truncate = opts.truncate ?? false;
    const result = this.wait<number>(opts.signal);
    this.phase = this.framing === 'chunked' ? 'chunk-size' : 'body';
    if (this.framing === 'none') this.finish();
    else
      this.guard(() => {
        this.process();
        this.drainSpill();
      });
    const held = this.held;
    const phase = this.phase as Phase; // process() may have finished or failed the body: TypeScript cannot see it
    if (held && phase !== 'done' && phase !== 'dead' && !this.waitsForRoom) {
      if (held.error === undefined && this.framing === 'close') this.finish();
      else this.fail(held.error ?? this.brokenError());
    }
    // Reading may have stopped while the body waited; it resumes even when the whole body was already
    // buffered, so an idle connection still notices the server closing it (not while a cap or a full ring holds it).
    this.resumeReading();
    return result;
  }

  destroy(reason?: unknown): void {
    this.fail(reason instanceof Error ? reason : new ConnectionError('closed', 'the connection was closed'));
  }

  private wait<T>(signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) {
      this.fail(signal.reason);
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.fail(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.waiter = {
        resolve: ((v: T) => (done(), resolve(v))) as (v: never) => void,
        reject: (e) => (done(), reject(e)),
      };
    });
  }

  private settle(value: unknown): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(value as never);
  }

  /** Destroys the socket (reads stop at once), then rejects whoever waits. */
  private fail(e: unknown): void {
    if (this.phase === 'dead') return;
    this.phase = 'dead';
    this.dest = this.landing = undefined;
    clearTimeout(this.limitWait);
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e instanceof HeadSyntaxError ? new ConnectionError('protocol', e.message, { cause: e }) : e);
    }
  }

  private brokenError(cause?: unknown): ConnectionError {
    const stale = this.reused && this.responseBytes === 0 && (this.phase === 'head' || this.phase === 'idle');
    const what = (cause as Error | undefined)?.message;
    return stale
      ? new ConnectionError('stale', 'the server closed a kept-alive connection', { cause })
      : new ConnectionError('closed', `the connection ${what ? `failed (${what})` : 'closed'} ${this.progress()}`, { cause });
  }

  private progress(): string {
    if (this.phase === 'head' || this.phase === 'idle') return 'before the response head';
    return this.dest || this.landing ? `after ${this.total} body bytes` : 'mid-response';
  }

  /** The connection broke while a body waited for its destination: keep what arrived, read no more. */
  private hold(error: unknown): void {
    this.keepAlive = false;
    if (!this.held || (this.held.error === undefined && error !== undefined)) this.held = { error };
    this.socket.destroy();
  }

  /** A body waits for its landing's next block: reading stopped, and what came waits in scratch. */
  private get waitsForRoom(): boolean {
    return this.landing !== undefined && this.dest === undefined;
  }

  private onEnd(): void {
    if (this.phase === 'dead') return;
    if (this.phase === 'waiting' || this.waitsForRoom || this.held) return this.hold(undefined);
    if (this.phase === 'body' && this.framing === 'close') {
      this.keepAlive = false;
      this.finish();
      this.phase = 'dead';
      return;
    }
    this.fail(this.brokenError());
  }

  // --- reads -------------------------------------------------------------------------------------

  private nextBuffer(): Uint8Array {
    if (this.start === this.end && this.dest) {
      const room = this.room();
      if (room > 0) {
        return this.dest.subarray(this.at, this.at + room);
      }
    }
    if (this.start === this.end && this.spilled.length === 0) this.start = this.end = this.scanned = 0;
    if (this.end === this.scratch.length) this.compact();
    if (this.end < this.scratch.length && this.spilled.length === 0) return this.scratch.subarray(this.end);
    // Scratch is full while the response waits for its destination: TLS goes on handing over what it has
    // already decrypted after reading stops. Those bytes queue in spill buffers, in order (never over
    // unread ones, and never a zero-length buffer, which makes libuv fail the socket with ENOBUFS).
    return Buffer.allocUnsafe(SPILL_BYTES);
  }

  /** Moves spilled bytes back into scratch, in order, as fast as process() consumes them. */
  private drainSpill(): void {
    while (this.spilled.length > 0 && this.phase !== 'waiting' && this.phase !== 'dead' && !this.waitsForRoom) {
      if (this.end === this.scratch.length) this.compact();
      const room = this.scratch.length - this.end;
      if (room === 0) throw new ConnectionError('protocol', 'the response does not fit the reader');
      const chunk = this.spilled[0]!;
      const n = Math.min(room, chunk.length);
      this.scratch.set(chunk.subarray(0, n), this.end);
      this.end += n;
      this.spilledBytes -= n;
      if (n === chunk.length) this.spilled.shift();
      else this.spilled[0] = chunk.subarray(n);
      this.process();
    }
  }

  /** How much of the body may land in dest with the next read. */
  private room(): number {
    if (!this.dest) return 0;
    // Under a cap, reads of a fraction of a second's bytes: waits stay short and the rate even.
    const free = Math.min(this.dest.length - this.at, this.capacity - this.total, this.limit?.maxRead ?? Infinity);
    if (this.phase === 'body') return this.framing === 'length' ? Math.min(this.due, free) : free;
    if (this.phase === 'chunk-data') return Math.min(this.due, free);
    return 0;
  }

  private onRead(n: number, buf: Uint8Array): boolean {
    this.responseBytes += n;
    if (this.origin.protocol === 'https:') tlsReadCalls.count++;
    // Where the bytes landed is read from the buffer Node hands back, not assumed from our last answer.
    if (buf.buffer === this.scratch.buffer) {
      // Keep scratch's unconsumed bytes contiguous, wherever in it this read landed.
      const pos = buf.byteOffset - this.scratch.byteOffset;
      if (pos !== this.end) this.scratch.copyWithin(this.end, pos, pos + n);
      this.end += n;
      this.guard(() => this.process());
    } else if (this.dest && buf.buffer === this.dest.buffer && buf.byteOffset === this.dest.byteOffset + this.at) {
      this.guard(() => this.landed(n));
    } else if (buf.byteLength === SPILL_BYTES && buf.buffer !== this.dest?.buffer) {
      this.spilled.push(buf.subarray(0, n));
      this.spilledBytes += n;
      if (this.spilledBytes > SPILL_LIMIT) this.fail(new ConnectionError('protocol', `more than ${SPILL_LIMIT} bytes arrived while the response waited`));
      else this.guard(() => this.drainSpill()); // a spill buffer handed out before readBody() may fill after it
    } else {
      debug('a read landed in a buffer this connection no longer reads into (phase %s): dropping the connection', this.phase);
      this.fail(new ConnectionError('protocol', 'a read landed outside the expected buffer'));
    }
    // While a body waits for its destination, reading goes on into scratch and spill buffers; only a
    // long wait (more than PAUSE_AT buffered) stops it. Stopping and restarting on every response would
    // cost two syscalls each, and over TLS data decrypted before the stop could wait for the next packet.
    return this.phase !== 'waiting' || this.end - this.start + this.spilledBytes < PAUSE_AT;
  }

  /**
   * Under a bandwidth cap, `n` body bytes delivered are paid for; a body ahead of the cap stops reading
   * the socket until the cap's clock catches up (bytes buffered before readBody() are paid as they move).
   */
  private pay(n: number): void {
    const wait = this.limit?.take(n) ?? 0;
    if (wait <= 0 || !this.alive) return;
    clearTimeout(this.limitWait);
    this.socket.pause();
    this.limitWait = setTimeout(() => {
      this.limitWait = undefined;
      this.resumeReading();
    }, wait);
  }

  /** Reads the socket again, unless a cap's wait or a full ring holds it. */
  private resumeReading(): void {
    if (this.alive && this.limitWait === undefined && !this.waitsForRoom) this.socket.resume();
  }

  /** The landing may have a free block again: the body goes on where it stopped. */
  private readonly roomAgain = (): void => {
    if (!this.landing || this.dest || this.phase === 'dead') return;
    this.dest = this.landing.next(this.roomAgain);
    if (!this.dest) return;
    this.at = 0;
    this.guard(() => {
      this.process();
      this.drainSpill();
    });
    // The socket ended while the ring was full: once what came is delivered (process() stopped with room
    // left, so it needs bytes that will not come), the body ends as it would have.
    const held = this.held;
    const phase = this.phase as Phase; // process() may have finished or failed the body: TypeScript cannot see it
    if (held && this.dest && phase !== 'done' && phase !== 'dead') {
      if (held.error === undefined && this.framing === 'close') this.finish();
      else this.fail(held.error ?? this.brokenError());
    }
    this.resumeReading();
  };

  /** n body bytes are in dest: counted, paid for, and a full block of a landing followed by its next. */
  private delivered(n: number): void {
    this.at += n;
    this.total += n;
    if (this.framing !== 'close') this.due -= n;
    this.onData?.(n);
    this.pay(n);
    // A landing's full block is followed by its next, unless the body is complete.
    if (this.landing && this.dest && this.at === this.dest.length && this.total < this.capacity && !(this.framing === 'length' && this.due === 0)) {
      this.dest = this.landing.next(this.roomAgain);
      this.at = 0;
      if (!this.dest) this.socket.pause(); // until roomAgain
    }
  }

  /** n body bytes landed straight in dest. */
  private landed(n: number): void {
    this.delivered(n);
    if (this.phase === 'body' && this.framing === 'length' && this.due === 0) this.finish();
    else if (this.phase === 'chunk-data' && this.due === 0) this.phase = 'chunk-end';
  }

  /** Consumes what scratch holds, as far as the phase allows. */
  private process(): void {
    for (;;) {
      const avail = this.end - this.start;
      switch (this.phase) {
        case 'idle':
        case 'done':
          if (avail > 0) throw new ConnectionError('protocol', 'the server sent bytes nobody asked for');
          return;
        case 'waiting':
        case 'dead':
          return;
        case 'head': {
          const headEnd = findHeadEnd(this.scratch, this.start, this.scanned, this.end);
          if (headEnd < 0) {
            this.scanned = Math.max(this.start, this.end - 3);
            if (this.end - this.start >= this.scratch.length) throw new ConnectionError('head-too-large', `the response head is larger than ${HEAD_LIMIT} bytes`);
            return;
          }
          const head = parseHead(this.scratch, this.start, headEnd);
          this.start = this.scanned = headEnd;
          // 101 switches to another protocol nobody asked for; 100 Continue and friends: the real head follows.
          if (head.status === 101) throw new ConnectionError('protocol', 'the server switched protocols (HTTP 101) unasked');
          if (head.status >= 100 && head.status < 200) {
            // llhttp ends the connection at a 1xx that says close, and refuses the response after it; it
            // checks a 1xx's framing headers as any response's.
            if (closes(head.headers) || head.version !== '1.1') throw new ConnectionError('protocol', `an informational ${head.status} response that ends the connection (HTTP/${head.version}, or Connection: close)`);
            checkFraming(head.headers);
            continue;
          }
          this.frame(head);
          this.phase = 'waiting';
          this.settle(head);
          return;
        }
        case 'body': {
          if (avail === 0) return;
          this.move(this.framing === 'length' ? Math.min(avail, this.due) : avail);
          if (this.phase === 'body' && this.framing === 'length' && this.due === 0) this.finish();
          if (this.phase === 'body') return; // every byte there was is in dest: wait for more
          continue;
        }
        case 'chunk-data': {
          if (avail === 0) return;
          this.move(Math.min(avail, this.due));
          if (this.phase !== 'chunk-data') continue;
          if (this.due > 0) return;
          this.phase = 'chunk-end';
          continue;
        }
        case 'chunk-size':
        case 'chunk-end':
        case 'trailer': {
          // Only bytes that arrived count: scratch past `end` holds stale bytes of earlier reads.
          const eol = lineEnd(this.scratch, this.start, this.end);
          if (eol < 0) {
            if (avail >= this.scratch.length) throw new ConnectionError('protocol', 'a chunk line is too long');
            return;
          }
          const line = this.scratch.toString('latin1', this.start, eol);
          this.start = eol + 2;
          if (this.phase === 'chunk-end') {
            if (line !== '') throw new ConnectionError('protocol', 'chunk data is not followed by CRLF');
            this.phase = 'chunk-size';
          } else if (this.phase === 'trailer') {
            if (line === '') this.finish();
            else if (!TRAILER_LINE.test(line)) throw new ConnectionError('protocol', `bad trailer line ${JSON.stringify(line.slice(0, 40))}`);
            // llhttp honours a Connection: close trailer: neither may read another response on this connection.
            else if (/^(proxy-)?connection:/i.test(line) && saysClose(line.slice(line.indexOf(':') + 1))) this.keepAlive = false;
          } else {
            const m = CHUNK_SIZE_LINE.exec(line);
            if (!m) throw new ConnectionError('protocol', `bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
            this.due = parseInt(m[1]!, 16);
            this.phase = this.due === 0 ? 'trailer' : 'chunk-data';
          }
          continue;
        }
      }
    }
  }

  /**
   * Moves `take` body bytes from scratch into dest (head bytes that came with the body: moved once); into a
   * landing's blocks as far as it has room (the rest waits in scratch for roomAgain).
   */
  private move(take: number): void {
    if (this.total + take > this.capacity) {
      const dest = this.dest;
      if (!this.truncate || !dest) throw new ConnectionError('body-too-long', `the response body is longer than the ${this.capacity} bytes expected`);
      take = dest.length - this.at;
      this.scratch.copy(dest, this.at, this.start, this.start + take);
      this.at = this.total += take;
      this.onData?.(take);
      this.keepAlive = false;
      this.finish();
      this.fail(new ConnectionError('closed', 'dropped after a truncated body'));
      return;
    }
    while (take > 0 && this.dest) {
      const n = Math.min(take, this.dest.length - this.at);
      this.scratch.copy(this.dest, this.at, this.start, this.start + n);
      this.start += n;
      take -= n;
      this.delivered(n);
    }
  }

  private frame(head: ResponseHead): void {
    const h = head.headers;
    const te = h.get('transfer-encoding');
    const cl = h.get('content-length');
    checkFraming(h); // even where no body follows (204, 304): llhttp refuses those too
    if (head.status === 204 || head.status === 304) this.framing = 'none';
    else if (te !== undefined) this.framing = 'chunked';
    else if (cl !== undefined) {
      this.framing = 'length';
      this.due = Number(cl);
    } else this.framing = 'close';
    if (this.framing === 'length' && this.due === 0) this.framing = 'none';
    this.keepAlive = head.version === '1.1' && this.framing !== 'close' && !closes(h);
  }

  private finish(): void {
    const heldByRing = this.waitsForRoom; // (a chunked body's last lines can end it while the ring is full)
    this.phase = 'done';
    this.dest = this.landing = undefined;
    this.onData = undefined;
    this.limit = undefined; // (a wait under way still ends in a resume: the next body starts from the cap's clock)
    this.settle(this.total);
    if (heldByRing) this.resumeReading();
  }

  private compact(): void {
    this.scratch.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.scanned -= this.start;
    this.start = 0;
  }
}

/** Transfer-Encoding (only `chunked`, never with Content-Length) and Content-Length (digits) as the reader takes them. */
function checkFraming(h: Map<string, string>): void {
  const te = h.get('transfer-encoding');
  const cl = h.get('content-length');
  if (te !== undefined) {
    if (!/^chunked$/i.test(te)) throw new ConnectionError('protocol', `unsupported Transfer-Encoding: ${te}`);
    if (cl !== undefined) throw new ConnectionError('protocol', 'both Transfer-Encoding and Content-Length');
  } else if (cl !== undefined && !/^\d{1,15}$/.test(cl)) throw new ConnectionError('protocol', `bad Content-Length: ${JSON.stringify(cl.slice(0, 40))}`);
}

/** Whether a Connection (or, as llhttp reads it, Proxy-Connection) value holds the `close` token. */
function saysClose(value: string): boolean {
  return /(^|,)[ \t]*close[ \t]*(,|$)/i.test(value);
}

function closes(h: Map<string, string>): boolean {
  return saysClose(h.get('connection') ?? '') || saysClose(h.get('proxy-connection') ?? '');
}

/**
 * Index of the CR of the first CRLF in buf[from, to), or -1 while the line is incomplete. A CR or LF
 * that is not part of a CRLF is a framing error (llhttp refuses them too): a reader that tolerated one
 * would see a different body than another parser.
 */
function lineEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c === 0x0a) throw new ConnectionError('protocol', 'a bare LF in a chunk line');
    if (c !== 0x0d) continue;
    if (i + 1 === to) return -1; // the LF has not arrived yet
    if (buf[i + 1] !== 0x0a) throw new ConnectionError('protocol', 'a bare CR in a chunk line');
    return i;
  }
  return -1;
}
