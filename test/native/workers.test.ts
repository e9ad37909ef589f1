// Worker threads share one native pool (and its cap) across the process.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BufferPool, defaultPool } from 'rangepool';
import { until } from '../support/wait.js';

const MiB = 1 << 20;
const churn = new URL('./fixtures/worker-churn.mjs', import.meta.url);
const hold = new URL('./fixtures/worker-hold.mjs', import.meta.url);

function runWorker(url: URL, workerData: object): { worker: Worker; result: Promise<any> } {
  const worker = new Worker(url, { workerData });
  const result = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
  return { worker, result };
}

describe('worker threads', () => {
  it('four workers use the process-wide default pool', async () => {
    const pool = defaultPool();
    expect(pool.native).toBe(true);
    const before = pool.stats();
    const results = await Promise.all([1, 2, 3, 4].map(() => runWorker(churn, { size: MiB, rounds: 20, holdMs: 1 }).result));
    expect(results.every((r) => r.native && r.done === 20)).toBe(true);
    // A worker reports before its last finalizers have run on its own thread.
    await until(() => pool.stats().returned - before.returned === 80, 'every block back');
    const after = pool.stats();
    expect(after.taken - before.taken).toBe(80);
    expect(after.inUseBytes).toBe(before.inUseBytes);
    expect(after.reused - before.reused).toBeGreaterThan(0);
  });

  it('the cap holds across threads, and a release on one thread wakes a waiter on another', async () => {
    const pool = new BufferPool({ sizeClasses: [4 * MiB], maxBytes: 8 * MiB, trimAfterMs: 0 });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, pool.stats().inUseBytes)), 1);
    const start = new SharedArrayBuffer(4);
    const results = await Promise.all(
      // The four start together (a barrier) and hold each block long enough to overlap on a busy machine.
      [1, 2, 3, 4].map(() => runWorker(churn, { poolId: pool.id, size: 4 * MiB, rounds: 8, holdMs: 25, start, workers: 4 }).result),
    );
    clearInterval(sampler);
    expect(results.map((r) => r.done)).toEqual([8, 8, 8, 8]);
    await until(() => pool.stats().returned === 32, 'every block back');
    const s = pool.stats();
    expect(s.peakInUseBytes).toBe(8 * MiB);
    expect(peak).toBeLessThanOrEqual(8 * MiB);
    expect(s.waits).toBeGreaterThan(0); // 4 threads wanting 16 MiB under an 8 MiB cap must have waited
    expect(s).toMatchObject({ taken: 32, returned: 32, inUseBytes: 0 });
  });

  it('a worker waiting on the cap is woken when the main thread releases', async () => {
    const pool = new BufferPool({ sizeClasses: [4 * MiB], maxBytes: 4 * MiB, trimAfterMs: 0 });
    const held = await pool.acquire(4 * MiB);
    const { result } = runWorker(churn, { poolId: pool.id, size: 4 * MiB, rounds: 1, holdMs: 0 });
    await until(() => pool.stats().waits === 1, 'the worker to wait');
    pool.release(held);
    expect((await result).done).toBe(1);
    await until(() => pool.stats().inUseBytes === 0, 'everything back');
  });

  it('terminating a worker that holds blocks gives them back', async () => {
    const pool = new BufferPool({ sizeClasses: [MiB], maxBytes: 64 * MiB, trimAfterMs: 0 });
    const { worker, result } = runWorker(hold, { poolId: pool.id, count: 5, size: MiB });
    expect((await result).holding).toBe(5);
    expect(pool.stats().inUseBytes).toBe(5 * MiB);
    await worker.terminate();
    await until(() => pool.stats().inUseBytes === 0, 'the worker blocks to come back');
    expect(pool.stats().returned).toBe(5);
  });

  it('attaching to a pool id that does not exist is an InvalidArgument', () => {
    expect(() => BufferPool.attach(987654)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
