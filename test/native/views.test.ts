// Views of a pooled block lent to another thread (the range threads' memory rule): the other thread
// writes straight into the block, and the block never goes back to the pool, nor to another user, while
// a view of it is out: a release with views outstanding is deferred until the last one is given back.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BufferPool } from 'rangepool';
import { binding } from '../../src/native.js';
import { until } from '../support/wait.js';

const MiB = 1 << 20;
const fixture = new URL('./fixtures/worker-view.mjs', import.meta.url);
const native = binding!;

function start(workerData: object): { worker: Worker; next: () => Promise<any>; exited: Promise<number> } {
  const worker = new Worker(fixture, { workerData });
  const queue: any[] = [];
  const waiting: Array<(m: any) => void> = [];
  worker.on('message', (m) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const next = () => Promise.race([failed, queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))]);
  return { worker, next, exited };
}

const settle = async (turns = 20) => {
  for (let i = 0; i < turns; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe.skipIf(!binding)('views of a lent block, written by another thread', () => {
  it('bytes a worker writes through its views are in the block, at their places; the views come back', async () => {
    const pool = new BufferPool({ sizeClasses: [4 * MiB], trimAfterMs: 0 });
    const buf = await pool.acquire(3 * MiB);
    buf.fill(0);
    const lent = native.lend(buf.buffer as ArrayBuffer)!;
    expect(lent).toMatchObject({ poolId: pool.id });
    // Offset 0 makes a second live external ArrayBuffer over the very address of the first.
    const w = start({ lent, spans: [[0, MiB, 1], [2 * MiB, MiB, 3]] });
    expect(await w.next()).toEqual({ written: [MiB, MiB] });
    expect(await w.next()).toEqual({ done: true });
    expect([buf[0], buf[MiB - 1], buf[MiB], buf[2 * MiB - 1], buf[2 * MiB], buf[3 * MiB - 1]]).toEqual([1, 1, 0, 0, 3, 3]);
    await w.exited;
    await until(() => pool.stats().views === 0, 'the views given back');
    pool.release(buf);
    await until(() => pool.stats().inUseBytes === 0, 'the block back');
  });

  it('a release while a view is out is deferred: the block comes back only after the view', async () => {
    const pool = new BufferPool({ sizeClasses: [4 * MiB], trimAfterMs: 0 });
    const buf = await pool.acquire(4 * MiB);
    const w = start({ lent: native.lend(buf.buffer as ArrayBuffer)!, spans: [[MiB, MiB, 7]], hold: true });
    await w.next();
    expect(pool.stats().views).toBe(1);
    pool.release(buf);
    expect(buf.length).toBe(0); // the caller's views are gone at once
    await settle();
    expect(pool.stats()).toMatchObject({ returned: 0, inUseBytes: 4 * MiB, views: 1 }); // still out: the worker may write
    // Nobody else can have it meanwhile: a new acquire maps another block.
    const other = await pool.acquire(4 * MiB);
    expect(pool.stats().fresh).toBe(2);
    pool.release(other);
    w.worker.postMessage('go');
    await w.next();
    // unview gave the block back on the worker's thread, before the worker said so.
    expect(pool.stats().returned).toBe(2);
    expect(pool.stats()).toMatchObject({ inUseBytes: 0, views: 0 });
  });

  it('a worker terminated with views out gives them back as it exits', async () => {
    const pool = new BufferPool({ sizeClasses: [4 * MiB], trimAfterMs: 0 });
    const buf = await pool.acquire(2 * MiB);
    const w = start({ lent: native.lend(buf.buffer as ArrayBuffer)!, spans: [[0, 2 * MiB, 9]], keep: true });
    await w.next();
    await w.next();
    pool.release(buf);
    await settle(5);
    expect(pool.stats().returned).toBe(0);
    await w.worker.terminate();
    await until(() => pool.stats().returned === 1, 'the block back after the worker exited');
    expect(pool.stats()).toMatchObject({ inUseBytes: 0, views: 0 });
  });

  it('refuses a view of another hand-out of the same memory, past the block, or of a released buffer', async () => {
    const pool = new BufferPool({ sizeClasses: [MiB], idlePerClass: 4, trimAfterMs: 0 });
    const buf = await pool.acquire(MiB);
    const lent = native.lend(buf.buffer as ArrayBuffer)!;
    expect(() => native.view(lent.poolId, lent.address, lent.ticket + 1, 0, 16)).toThrow(TypeError);
    expect(() => native.view(lent.poolId, lent.address, lent.ticket, MiB - 8, 16)).toThrow(TypeError);
    expect(() => native.view(lent.poolId, lent.address + 8n, lent.ticket, 0, 16)).toThrow(TypeError);
    expect(() => native.view(lent.poolId + 1000, lent.address, lent.ticket, 0, 16)).toThrow(TypeError);
    const view = native.view(lent.poolId, lent.address, lent.ticket, MiB - 16, 16);
    expect(view.buffer.byteLength).toBe(16);
    expect(pool.stats().views).toBe(1);
    native.unview(view);
    expect(view.buffer.byteLength).toBe(0); // detached
    expect(pool.stats().views).toBe(0); // given back at once, not at the next turn
    native.unview(view); // twice is harmless
    expect(pool.stats().views).toBe(0);
    pool.release(buf);
    expect(native.lend(buf.buffer as ArrayBuffer)).toBeUndefined(); // detached
    expect(() => native.view(lent.poolId, lent.address, lent.ticket, 0, 16)).toThrow(TypeError); // released
    await until(() => pool.stats().returned === 1, 'the block idle');
    const again = await pool.acquire(MiB);
    expect(native.lend(again.buffer as ArrayBuffer)!.address).toBe(lent.address); // the same memory, reused...
    expect(() => native.view(lent.poolId, lent.address, lent.ticket, 0, 16)).toThrow(TypeError); // ...but another hand-out
    expect(native.lend(Buffer.alloc(16).buffer as ArrayBuffer)).toBeUndefined(); // not pooled
    pool.release(again);
    await until(() => pool.stats().views === 0 && pool.stats().inUseBytes === 0, 'all back');
  });
});
