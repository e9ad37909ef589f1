import { binding as nativeBinding, type NativeBinding, type NativeHandle } from '../native.js';
import type { AcquireStatus, PoolConfig } from './types.js';
import type { Backend } from './backend.js';

// Per thread: the wake callbacks of pools waiting on each native pool id. The addon calls back with
// the id whenever a watched pool gets memory back, from whichever thread returned it.
const waiters = new Map<number, Set<() => void>>();
let waker: object | undefined;

function wakerFor(b: NativeBinding): object {
  return (waker ??= b.createWaker((id) => {
    for (const wake of waiters.get(id) ?? []) wake();
  }));
}

export class NativeBackend implements Backend {
  readonly native = true;
  readonly id: number;
  readonly config: PoolConfig;
  private readonly handle: object;

  private constructor(
    private readonly b: NativeBinding,
    h: NativeHandle,
  ) {
    this.handle = h.handle;
    this.id = h.id;
    this.config = b.poolConfig(h.handle); // the default pool keeps the config of whoever made it first
  }

  static create(config: PoolConfig, shared: boolean): NativeBackend | undefined {
    if (!nativeBinding) return undefined;
    const h = shared ? nativeBinding.defaultPool(config) : nativeBinding.createPool(config);
    return new NativeBackend(nativeBinding, h);
  }

  static attach(id: number): NativeBackend | undefined {
    const h = nativeBinding?.attachPool(id);
    return h && new NativeBackend(nativeBinding!, h);
  }

  tryAcquire(size: number, waitForReturning = false): ArrayBuffer | AcquireStatus {
    return this.b.acquire(this.handle, size, waitForReturning);
  }

  acquire(size: number, waitForReturning = false): ArrayBuffer | AcquireStatus | Promise<ArrayBuffer> {
    return this.b.acquireAsync(this.handle, size, waitForReturning);
  }

  release(ab: ArrayBuffer): boolean {
    return this.b.release(ab, this.handle);
  }

  capacityFor(size: number): number {
    return this.b.capacityFor(this.handle, size);
  }

  capacityOf(ab: ArrayBuffer): number {
    const o = this.b.ownership(ab);
    return o && o.poolId === this.id ? o.capacity : 0;
  }

  stats() {
    return this.b.stats(this.handle);
  }

  trim(minIdleMs: number): number {
    return this.b.trim(this.handle, minIdleMs);
  }

  noteWait(): void {
    this.b.noteWait(this.handle);
  }

  watch(on: boolean, wake: () => void): void {
    let set = waiters.get(this.id);
    if (on) {
      if (!set) waiters.set(this.id, (set = new Set()));
      set.add(wake);
    } else {
      set?.delete(wake);
      if (set?.size === 0) waiters.delete(this.id);
    }
    this.b.watch(wakerFor(this.b), this.handle, (set?.size ?? 0) > 0);
  }

  collected(): void {
    // The addon's finalizer already gave the block back.
  }
}
