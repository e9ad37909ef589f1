// Plays scripted server bytes into a real Connection through Node's `onread` contract, cut into reads
// exactly where a splitter says: every byte boundary the reader can meet, deterministically, without the
// kernel coalescing writes. The socket is a stand-in; the Connection, its buffers and its parser are the
// real ones. Read N lands in the buffer buffer() returned after read N-1, as in Node's onStreamRead.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection, ConnectionError, type ByteBudget, type Landing, type OnRead } from '../../src/http/connection.js';

/** How many bytes the next read carries, given the bytes still to come (at least 1). */
export type Splitter = (rest: Buffer) => number;

export const splitters = {
  whole: (): Splitter => (rest) => rest.length,
  oneByte: (): Splitter => () => 1,
  /** A cut before and after every CR and LF, so each lands at the start or the end of a read. */
  atCrLf: (): Splitter => (rest) => {
    if (rest[0] === 0x0d || rest[0] === 0x0a) return 1;
    const i = rest.findIndex((b) => b === 0x0d || b === 0x0a);
    return i < 0 ? rest.length : i;
  },
  random: (random: () => number, max: number): Splitter => () => 1 + Math.floor(random() * max),
  /** Mostly tiny reads, now and then a large one: the mix TLS records and loopback coalescing give. */
  mixed: (random: () => number): Splitter => () => (random() < 0.8 ? 1 + Math.floor(random() * 8) : 1 + Math.floor(random() * 20_000)),
};

class ScriptedSocket extends EventEmitter {
  destroyed = false;
  readonly written: string[] = [];
  private paused = false;
  private wake: (() => void) | undefined;
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  write(data: string): boolean {
    this.written.push(data);
    this.wake?.();
    return true;
  }
  /** Stops the reads, as Node's Socket.pause() does in onread mode (readStop): a bandwidth cap's wait. */
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    this.wake?.();
    return this;
  }
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.wake?.();
    setImmediate(() => this.emit('close'));
    return this;
  }

  /**
   * Response i is played once request i has been written; `endAfter` ends the stream (the server closes)
   * after the last one.
   */
  async play(onread: OnRead, responses: Buffer[], split: Splitter, endAfter: boolean, eager = false): Promise<void> {
    let buf = onread.buffer();
    setImmediate(() => this.emit('connect'));
    const until = async (ready: () => boolean) => {
      while (!ready() && !this.destroyed) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    };
    // Eager: a response whose request has not come within a few turns is sent anyway (a pipelining
    // attacker's bytes, or a reader that waits for more of the previous response than was sent).
    const requested = async (r: number) => {
      if (!eager) return until(() => this.written.length > r);
      for (let turn = 0; turn < 8 && this.written.length <= r && !this.destroyed; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    for (let r = 0; r < responses.length && !this.destroyed; r++) {
      await requested(r);
      const bytes = responses[r]!;
      for (let at = 0; at < bytes.length; ) {
        await new Promise((resolve) => setImmediate(resolve)); // each read is its own turn of the loop
        await until(() => !this.paused);
        if (this.destroyed) return;
        if (buf.length === 0) throw new Error('the reader offered a zero-length buffer (libuv would fail the socket with ENOBUFS)');
        const n = Math.min(Math.max(1, split(bytes.subarray(at))), buf.length, bytes.length - at);
        buf.set(bytes.subarray(at, at + n));
        at += n;
        const more = onread.callback(n, buf);
        buf = onread.buffer();
        if (more === false) this.paused = true;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (endAfter && !this.destroyed) {
      this.emit('end');
      this.destroy();
    }
  }
}

/**
 * A landing ring as download() uses one (engine/ring.ts), with random block sizes (1-64 bytes), one to three
 * blocks, and each block's "write" ending after a random number of turns: bodies cross block boundaries
 * anywhere, and reading stops and starts again wherever the ring runs full.
 */
class RandomRing implements Landing {
  private readonly out: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private writing = 0;
  private ready: (() => void) | undefined;
  private readonly blocks: number;
  constructor(
    readonly length: number,
    private readonly random: () => number,
  ) {
    this.blocks = 1 + Math.floor(random() * 3);
  }
  next(ready: () => void): Uint8Array | undefined {
    if (this.current && this.filled < this.current.length) throw new Error('next() before the block was full');
    this.flush();
    if (this.writing >= this.blocks) {
      this.ready = ready;
      return undefined;
    }
    this.current = Buffer.alloc(1 + Math.floor(this.random() * 64));
    return this.current;
  }
  landed(n: number): void {
    this.filled += n;
    if (!this.current || this.filled > this.current.length) throw new Error('bytes reported past the block handed out');
    if (this.filled === this.current.length) this.flush();
  }
  body(): Buffer {
    this.flush();
    return Buffer.concat(this.out);
  }
  private flush(): void {
    if (!this.current) return;
    this.out.push(Buffer.from(this.current.subarray(0, this.filled)));
    this.current = undefined;
    this.filled = 0;
    this.writing++;
    const turns = Math.floor(this.random() * 4);
    const done = (left: number): void => {
      if (left > 0) return void setImmediate(() => done(left - 1));
      this.writing--;
      const ready = this.ready;
      this.ready = undefined;
      ready?.();
    };
    done(turns);
  }
}

export interface Exchange {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

export interface ScriptResult {
  /** One per response read, in order; stops at the first error. */
  exchanges: Exchange[];
  error?: unknown;
  /** Body bytes the reader reported landing (onData) for the exchange that failed, when one did. */
  delivered: number;
  /** Whether the connection could take another request after the last exchange. */
  reusable: boolean;
}

/**
 * Sends one GET per response over one Connection and reads each body into a fresh buffer of `room`
 * bytes, while the script plays the responses cut by `split`. With `late`, the last body is asked for
 * only once the script has played everything (and, with `endAfter`, closed): every byte of it waits in
 * the reader's own buffers first, as when a range thread's head goes to the main thread and back.
 */
export async function readScripted(responses: Buffer[], split: Splitter, opts: { room?: number; endAfter?: boolean; late?: boolean; eager?: boolean; limit?: ByteBudget; ring?: () => number } = {}): Promise<ScriptResult> {
  let socket: ScriptedSocket | undefined;
  let played: Promise<void> | undefined;
  const c = new Connection({ protocol: 'http:', hostname: 'scripted', port: 80 }, {}, (_o, _t, onread) => {
    socket = new ScriptedSocket();
    played = socket.play(onread, responses, split, opts.endAfter ?? false, opts.eager);
    return socket as unknown as Socket;
  });
  const exchanges: Exchange[] = [];
  let error: unknown;
  let delivered = 0;
  try {
    for (let i = 0; i < responses.length; i++) {
      const head = await c.send('GET / HTTP/1.1\r\nhost: scripted\r\n\r\n');
      if (opts.late && i === responses.length - 1) await played;
      const ring = opts.ring && new RandomRing(opts.room ?? 1 << 20, opts.ring);
      const dest = ring ? undefined : Buffer.alloc(opts.room ?? 1 << 20);
      delivered = 0;
      const onData = (k: number) => {
        delivered += k;
        ring?.landed(k);
      };
      const n = await c.readBody(ring || dest!, { onData, limit: opts.limit });
      const body = ring ? ring.body() : dest!.subarray(0, n);
      if (body.length !== n) throw new Error(`readBody said ${n} bytes, ${body.length} landed`);
      exchanges.push({ status: head.status, headers: head.headers, body });
      if (i + 1 < responses.length && !c.reusable) throw new ConnectionError('closed', 'the connection cannot take the next request');
    }
  } catch (e) {
    error = e;
  }
  const reusable = error === undefined && c.reusable;
  c.destroy();
  await played;
  return { exchanges, error, reusable, delivered };
}
