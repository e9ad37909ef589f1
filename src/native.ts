// The only module that touches the addon. It loads the prebuild (or a local build) through
// node-gyp-build and says why when it cannot; the pool then falls back to JavaScript.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AcquireStatus, BackendStats, PoolConfig } from './pool/types.js';

export interface NativeHandle {
  readonly handle: object;
  readonly id: number;
}


/** A pooled block named for another thread: the pool, where it is, and which hand-out of it. */
export interface Lent {
  readonly poolId: number;
  readonly address: bigint;
  readonly ticket: number;
}

/** A view of a lent block on another thread: its buffer, and the handle that gives it back. */
export interface BlockView {
  readonly buffer: ArrayBuffer;
  readonly handle: object;
}

export interface NativeBinding {
  readonly sourceHash: string;
  readonly poisonByte: number;
  createPool(config: PoolConfig): NativeHandle;
  defaultPool(config: PoolConfig): NativeHandle;
  attachPool(id: number): NativeHandle | undefined;
  poolConfig(handle: object): PoolConfig;
  /** An ArrayBuffer of exactly `size` bytes, or why not. */
  acquire(handle: object, size: number, waitForReturning?: boolean): ArrayBuffer | AcquireStatus;
  /** The same, but a fresh block is mapped and its pages faulted in on a threadpool thread (the promise). */
  acquireAsync(handle: object, size: number, waitForReturning?: boolean): ArrayBuffer | AcquireStatus | Promise<ArrayBuffer>;
  /** True when detached now, false when already detached; TypeError when not ours. */
  release(ab: ArrayBuffer, handle?: object): boolean;
  ownership(ab: ArrayBuffer): { poolId: number; capacity: number } | undefined;
  /** What another thread needs to borrow a view of this pooled buffer's block, or undefined when it is not one. */
  lend(ab: ArrayBuffer): Lent | undefined;
  /** A view of bytes [offset, offset + length) of a lent block, on this thread; the block stays out until unview (or the view's finalizer). TypeError when refused. */
  view(poolId: number, address: bigint, ticket: number, offset: number, length: number): BlockView;
  /** Detaches the view's buffer and ends its hold on the block now. */
  unview(view: BlockView): void;
  capacityFor(handle: object, size: number): number;
  stats(handle: object): BackendStats;
  trim(handle: object, minIdleMs: number): number;
  noteWait(handle: object): void;
  /** A waker: fn(poolId) runs on this thread after memory comes back to a pool it watches. */
  createWaker(fn: (poolId: number) => void): object;
  watch(waker: object, handle: object, on: boolean): void;
  externalBuffersAllowed(): boolean;
  crc32c(data: ArrayBufferView | ArrayBuffer, init: number): number;
  crc32cCombine(crcA: number, crcB: number, lenB: number): number;
  readonly crc32cHardware: boolean;
  crc64nvme(data: ArrayBufferView | ArrayBuffer, init: bigint): bigint;
  crc64nvmeCombine(crcA: bigint, crcB: bigint, lenB: number): bigint;
  /** The exclusive flock on `fd`, without waiting: 1 taken, 0 held by another open file, -errno (-ENOSYS: none here). */
  tryLockFile(fd: number): number;
  /** Allocates the blocks of the file's first `length` bytes: 0, or -errno (-ENOSPC: it cannot fit; -EOPNOTSUPP/-ENOSYS: no such call here). */
  preallocate?(fd: number, length: number): number;
  /** Whether TLS records can be read and decrypted in native code here (src/http/native-tls.ts). */
  readonly tlsAvailable?: boolean;
  readonly plainReaderAvailable?: boolean;
  /**
   * A native reader of a TLS 1.3 connection's records from `fd` (duplicated), under the server's key, IV and next
   * record number, starting with the `early` ciphertext read before (and `handshake`, the start of a ticket
   * that goes on in a later record); onEvent(bytes, end, error) once per destination
   * (end: 0 none, 1 close_notify, 2 end of stream, 3 failed). Throws when it refuses.
   */
  tlsOpen(fd: number, suite: number, key: Uint8Array, iv: Uint8Array, seq: number, early: Uint8Array, handshake: Uint8Array, onEvent: (bytes: number, end: number, error: string | undefined) => void): object;
  /** The next destination; `fill`: report when full or a piece is in (a body), else at the first bytes. */
  tlsTarget(handle: object, view: Uint8Array, fill: boolean): void;
  tlsPause(handle: object, on: boolean): void;
  tlsRef(handle: object, on: boolean): void;
  /** After it returns, no destination is written and no event comes. */
  tlsClose(handle: object): void;
  /** Records decrypted so far, counting from the handshake's first under the application key. */
  tlsRecords(handle: object): number;
}

/** The package root: dist/ and src/ both sit one level below it. */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

function load(): { binding?: NativeBinding; reason?: string } {
  if (process.env.RANGEPOOL_NO_NATIVE === '1') return { reason: 'disabled by RANGEPOOL_NO_NATIVE=1' };
  try {
    const require = createRequire(import.meta.url);
    const binding = require('node-gyp-build')(packageRoot) as NativeBinding;
    if (!binding.externalBuffersAllowed()) return { reason: 'this runtime does not allow external buffers' };
    return { binding };
  } catch (e) {
    return { reason: `the native addon did not load: ${(e as Error).message.split('\n')[0]}` };
  }
}

const loaded = load();
export const binding: NativeBinding | undefined = loaded.binding;
/** Why the JavaScript fallback is in use, when it is. */
export const fallbackReason: string | undefined = loaded.reason;
