import { debuglog } from 'node:util';
import { abortedError, invalidArgument } from '../errors.js';
import { binding as nativeBinding, fallbackReason } from '../native.js';
import { isDetached, type Backend } from './backend.js';
import { JsBackend } from './js-backend.js';
import { NativeBackend } from './native-backend.js';
import { optionsFromEnv, resolveOptions } from './options.js';
import type { AcquireOptions, AcquireStatus, Pool, PoolOptions, PoolStats } from './types.js';

export interface BufferPoolOptions extends PoolOptions {
  /** 'js' forces the JavaScript fallback (the environment variable RANGEPOOL_NO_NATIVE=1 does so for all). */
  implementation?: 'auto' | 'js' | undefined;
  /**
   * acquire() faults a fresh block's pages in on a threadpool thread before it resolves (native pool).
   * Default false (RANGEPOOL_PREFAULT=1 turns it on for the default pool): measured here
   * (bench/pool-policy.ts) it was faster in some runs and slower in others (no byte can land until every
   * page is in, where faulting as bytes arrive overlaps the two), so it stays a choice, not the default.
   */
  prefault?: boolean | undefined;
}

/** A pooled buffer with a scoped lifetime: `using lease = await pool.lease(n)` releases at block end. */
export interface Lease extends Disposable {
  readonly buffer: Buffer;
}

interface Waiter {
  size: number;
  resolve(buf: Buffer): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** NODE_DEBUG=rangepool: when an acquire has to wait for the cap. */
const debug = debuglog('rangepool');

// Which pool made each live buffer of this thread, so the free function release() finds it.
const owners = new WeakMap<ArrayBuffer, BufferPool>();
// Zero-length buffers are plain ArrayBuffers, never pooled; releasing one is a no-op.
const empties = new WeakSet<ArrayBuffer>();


/**
 * Memory for large objects, outside the V8 heap, reused across downloads. `acquire` returns a Buffer
 * of exactly the size asked for; its memory comes back on `release()` (all views drop to length 0)
 * or when the garbage collector collects it. In-use + idle bytes never exceed `maxBytes`: acquires
 * wait, first come first served (per thread), until memory comes back.
 */
export class BufferPool implements Pool {
  readonly native: boolean;
  private readonly waiters: Waiter[] = [];
  private readonly wake = () => this.drain();
  private trimTimer: NodeJS.Timeout | undefined;
  private collectedCount = 0;
  // Counts buffers collected without release. It never returns a native block (the addon's finalizer
  // does, once no view can reach the memory); the JS backend only corrects its accounting here, for
  // memory the collector has already freed.
  private readonly finalization = new FinalizationRegistry<number>((capacity) => {
    this.collectedCount++;
    this.backend.collected(capacity);
  });

  private readonly backend: Backend;

  /** `backend` is internal: attach() and defaultPool() pass one. */
  private readonly prefault: boolean;

  constructor(opts: BufferPoolOptions = {}, backend?: Backend) {
    this.prefault = opts.prefault ?? process.env.RANGEPOOL_PREFAULT === '1';
    if (!backend) {
      const { implementation = 'auto', prefault: _, ...poolOpts } = opts;
      if (implementation !== 'auto' && implementation !== 'js') throw invalidArgument("implementation must be 'auto' or 'js'");
      const config = resolveOptions(poolOpts);
      backend = (implementation === 'auto' ? NativeBackend.create(config, false) : undefined) ?? new JsBackend(config);
      if (implementation === 'auto') warnFallbackOnce(backend);
    }
    this.backend = backend;
    this.native = backend.native;
  }

  /** Attaches to a native pool made in another thread (pass `pool.id` to the worker). */
  static attach(id: number): BufferPool {
    const backend = NativeBackend.attach(id);
    if (!backend) throw invalidArgument(`no native pool with id ${id} is alive in this process`);
    return new BufferPool({}, backend);
  }

  /** @internal the process-wide pool; see defaultPool(). */
  static shared(): BufferPool {
    const config = resolveOptions(optionsFromEnv());
    const backend = NativeBackend.create(config, true) ?? new JsBackend(config);
    warnFallbackOnce(backend);
    return new BufferPool({}, backend);
  }

  /** Shared by every thread that attaches to the same native pool. */
  get id(): number {
    return this.backend.id;
  }

  /** Why this process uses the JavaScript fallback, if it does. */
  static get fallbackReason(): string | undefined {
    return fallbackReason;
  }

  async acquire(size: number, opts: AcquireOptions = {}): Promise<Buffer> {
    const { signal } = opts;
    this.checkSize(size);
    if (signal?.aborted) throw abortedError(signal, undefined, 'acquire');
    // A block released just now comes back at the next turn: wait for it (a turn or two) rather than
    // map a fresh one, so back-to-back downloads reuse memory.
    for (let turns = 0; this.waiters.length === 0; turns++) {
      let buf = this.take(size, turns < 3, this.prefault);
      if (buf instanceof Promise) buf = await buf; // a fresh block, its pages faulted in off this thread
      if (buf === 'returning') {
        await new Promise((r) => setImmediate(r));
        if (signal?.aborted) throw abortedError(signal, undefined, 'acquire');
        continue;
      }
      if (buf !== 'over-cap') return buf;
      break;
    }
    if (signal?.aborted) throw abortedError(signal, undefined, 'acquire');
    return new Promise<Buffer>((resolve, reject) => {
      const waiter: Waiter = { size, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i < 0) return;
          this.waiters.splice(i, 1);
          reject(abortedError(signal, undefined, 'acquire'));
          this.drain(); // the aborted one may have been blocking smaller requests behind it
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      if (debug.enabled) debug('acquire of %d bytes waits for the cap (%d waiting, %d bytes in use)', size, this.waiters.length, this.stats().inUseBytes);
      this.backend.noteWait();
      if (this.waiters.length === 1) this.backend.watch(true, this.wake);
    });
  }

  /** A buffer now, or undefined when the cap would be exceeded. */
  tryAcquire(size: number): Buffer | undefined {
    this.checkSize(size);
    const buf = this.take(size, false);
    return typeof buf === 'string' ? undefined : buf;
  }

  /** With `mayWait`, a fresh block may come as a promise: prepared off the event loop (native pool). */
  private take(size: number, waitForReturning: boolean, mayWait: boolean): Buffer | AcquireStatus | Promise<Buffer>;
  private take(size: number, waitForReturning: boolean): Buffer | AcquireStatus;
  private take(size: number, waitForReturning: boolean, mayWait = false): Buffer | AcquireStatus | Promise<Buffer> {
    if (size === 0) {
      const ab = new ArrayBuffer(0);
      empties.add(ab);
      return Buffer.from(ab);
    }
    const ab = mayWait ? this.backend.acquire(size, waitForReturning) : this.backend.tryAcquire(size, waitForReturning);
    if (typeof ab === 'string') return ab;
    return ab instanceof Promise ? ab.then((fresh) => this.handOut(fresh, size)) : this.handOut(ab, size);
  }

  private handOut(ab: ArrayBuffer, size: number): Buffer {
    owners.set(ab, this);
    this.finalization.register(ab, this.backend.capacityFor(size), ab);
    this.startTrimTimer();
    return Buffer.from(ab);
  }

  /** A buffer that releases itself at the end of a `using` block. */
  async lease(size: number, opts: AcquireOptions = {}): Promise<Lease> {
    const buffer = await this.acquire(size, opts);
    return { buffer, [Symbol.dispose]: () => this.release(buffer) };
  }

  /**
   * Gives the memory back now. Every Buffer/TypedArray/DataView over it drops to length 0 at once.
   * Releasing twice is a no-op; a buffer this pool did not hand out is a TypeError.
   */
  release(buf: ArrayBufferView | ArrayBuffer): void {
    const ab = arrayBufferOf(buf);
    if (empties.has(ab)) return;
    if (this.backend.release(ab)) this.finalization.unregister(ab);
  }

  get maxBytes(): number {
    return this.backend.config.maxBytes;
  }

  /** Capacity of the block behind a pooled buffer (>= its length); 0 when not from this pool. */
  capacityOf(buf: ArrayBufferView | ArrayBuffer): number {
    return this.backend.capacityOf(arrayBufferOf(buf));
  }

  stats(): PoolStats {
    return { ...this.backend.stats(), collectedWithoutRelease: this.collectedCount };
  }

  /** Returns every idle block to the OS now. Returns the bytes freed. */
  trim(): number {
    const freed = this.backend.trim(0);
    if (freed > 0) debug('trimmed %d idle bytes back to the OS on request', freed);
    return freed;
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`size must be a non-negative integer, got ${size}`);
    const capacity = size === 0 ? 0 : this.backend.capacityFor(size);
    const { maxBytes } = this.backend.config;
    if (capacity > maxBytes) throw invalidArgument(`size ${size} needs ${capacity} bytes, more than the pool's cap of ${maxBytes}`);
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      let buf: Buffer | undefined;
      try {
        buf = this.tryAcquire(w.size);
      } catch (e) {
        this.waiters.shift();
        w.reject(e);
        continue;
      }
      if (!buf) break;
      this.waiters.shift();
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      w.resolve(buf);
    }
    if (this.waiters.length === 0) this.backend.watch(false, this.wake);
  }

  // Idle blocks go back to the OS once the whole pool has been quiet for trimAfterMs (the backend
  // decides; this timer only asks, every tenth of that, so the trim comes within 10 % of the time). It
  // never keeps the process alive, and it holds the pool only weakly so an unused pool can be collected.
  private startTrimTimer(): void {
    const { trimAfterMs } = this.backend.config;
    if (this.trimTimer || trimAfterMs === 0) return;
    const self = new WeakRef(this);
    const timer = setInterval(() => {
      const pool = self.deref();
      if (!pool) return clearInterval(timer);
      const freed = pool.backend.trim(trimAfterMs);
      if (freed > 0) debug('trimmed %d idle bytes (the pool quiet for %d ms) back to the OS', freed, trimAfterMs);
    }, Math.max(50, Math.min(1000, trimAfterMs / 10)));
    timer.unref();
    this.trimTimer = timer;
  }
}

function arrayBufferOf(buf: ArrayBufferView | ArrayBuffer): ArrayBuffer {
  if (buf instanceof ArrayBuffer) return buf;
  if (ArrayBuffer.isView(buf) && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  throw new TypeError('expected a Buffer, TypedArray, DataView or ArrayBuffer');
}

/** Releases a buffer from whichever pool made it (see BufferPool.release). */
export function release(buf: ArrayBufferView | ArrayBuffer): void {
  const ab = arrayBufferOf(buf);
  if (empties.has(ab)) return;
  const owner = owners.get(ab);
  if (owner) owner.release(ab);
  else if (isDetached(ab)) return; // released already
  // Made by another loaded copy of rangepool: the addon still knows its owner.
  else if (!nativeBinding?.ownership(ab)) throw new TypeError('not a buffer handed out by a rangepool pool');
  else nativeBinding.release(ab);
}

let shared: BufferPool | undefined;
/**
 * The process's shared pool: one native pool for every thread (each thread gets its own facade over
 * it). Tuned by RANGEPOOL_MAX_BYTES, RANGEPOOL_IDLE_PER_CLASS, RANGEPOOL_TRIM_AFTER_MS, RANGEPOOL_POISON.
 */
let warned = false;
/** One process warning, the first time a pool falls back because the addon did not load (not when asked for). */
function warnFallbackOnce(backend: Backend): void {
  if (warned || backend.native || !fallbackReason || process.env.RANGEPOOL_NO_NATIVE === '1') return;
  warned = true;
  process.emitWarning(`rangepool uses its JavaScript pool: ${fallbackReason}. For the native one, install a C++ toolchain and run npm rebuild rangepool.`, { code: 'RANGEPOOL_NATIVE_UNAVAILABLE' });
}

export function defaultPool(): BufferPool {
  return (shared ??= BufferPool.shared());
}
