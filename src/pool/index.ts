// PROVISIONAL stub so the engine can be written in parallel; replaced by the native pool + fallback.
import type { Pool, PoolStats } from './types.js';

class StubPool implements Pool {
  readonly native = false;
  private out = 0;
  async acquire(size: number): Promise<Buffer> {
    this.out += size;
    return Buffer.allocUnsafeSlow(size);
  }
  release(buf: ArrayBufferView | ArrayBuffer): void {
    this.out -= buf.byteLength;
  }
  stats(): PoolStats {
    return { taken: 0, returned: 0, fresh: 0, reused: 0, waits: 0, inUseBytes: this.out, idleBytes: 0, peakInUseBytes: 0, trimmedBytes: 0, collectedWithoutRelease: 0 };
  }
  trim(): number {
    return 0;
  }
}

const stub = new StubPool();
export function defaultPool(): Pool {
  return stub;
}
export function release(buf: ArrayBufferView | ArrayBuffer): void {
  stub.release(buf);
}
