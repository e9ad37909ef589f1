// Memory stays inside the cap under load, across worker threads too, and comes back whatever happens.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startObjectServer } from '../testing/object-server/index.js';
import { BufferPool, RangeEngine, get, release } from '../src/index.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
let server: Awaited<ReturnType<typeof startObjectServer>>;
let storeOptions: { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };

beforeAll(async () => {
  server = await startObjectServer();
  storeOptions = { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
});
afterAll(() => server.close());

function sample(pool: BufferPool) {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, pool.stats().inUseBytes)), 2);
  return () => (clearInterval(timer), peak);
}

describe('the cap under load', () => {
  it('64 concurrent get()s of 64 MiB under a 1 GiB cap all complete, and in-use bytes never pass the cap', async () => {
    const data = randomBytes(64 * MiB);
    server.put('load', 'big', data);
    const pool = new BufferPool({ maxBytes: 1024 * MiB, trimAfterMs: 0 });
    const engine = new RangeEngine({ partSize: 8 * MiB, concurrency: 4, maxInFlight: 64 });
    const stop = sample(pool);
    const results = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const buf = await get('s3://load/big', { pool, engine, storeOptions });
        const same = buf.equals(data);
        release(buf);
        return same;
      }),
    );
    const peak = stop();
    expect(results.every(Boolean)).toBe(true);
    expect(peak).toBeLessThanOrEqual(1024 * MiB);
    expect(pool.stats().peakInUseBytes).toBeLessThanOrEqual(1024 * MiB);
    expect(pool.stats().waits).toBeGreaterThan(0); // 64 × 64 MiB cannot fit at once: the cap made them wait
    await until(() => pool.stats().inUseBytes === 0, 'everything back');
  });

  it('a cap smaller than one object is a clear InvalidArgument, not a hang', async () => {
    server.put('load', 'small-cap', randomBytes(2 * MiB));
    const pool = new BufferPool({ maxBytes: MiB });
    await expect(get('s3://load/small-cap', { pool, storeOptions })).rejects.toMatchObject({ code: 'InvalidArgument', uri: 's3://load/small-cap' });
  });
});

describe('worker threads downloading', () => {
  const fixture = new URL('./native/fixtures/worker-download.mjs', import.meta.url);

  it('four workers download concurrently through one process-wide pool, and its cap holds across them', async () => {
    const data = randomBytes(10 * MiB);
    server.put('w', 'obj', data);
    const pool = new BufferPool({ sizeClasses: [16 * MiB], maxBytes: 48 * MiB, trimAfterMs: 0 });
    const stop = sample(pool);
    const oks = await Promise.all(
      [1, 2, 3, 4].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(fixture, { workerData: { poolId: pool.id, url: server.url, key: 'obj', rounds: 6, expectedLength: data.length } });
            w.on('message', (m) => m.ok !== undefined && resolve(m.ok));
            w.once('error', reject);
          }),
      ),
    );
    const peak = stop();
    expect(oks).toEqual([6, 6, 6, 6]);
    expect(peak).toBeLessThanOrEqual(48 * MiB);
    expect(pool.stats().peakInUseBytes).toBeLessThanOrEqual(48 * MiB);
    expect(pool.stats().waits).toBeGreaterThan(0); // 8 downloads wanted 128 MiB at once
    await until(() => pool.stats().inUseBytes === 0, 'every block back from the workers');
  });

  it('terminating a worker mid-download does not crash, and its memory comes back', async () => {
    server.put('w', 'slow', randomBytes(8 * MiB));
    server.setFaults([{ kind: 'stall', afterBytes: 100_000, ms: 60_000, match: { key: 'slow' } }]);
    const pool = new BufferPool({ sizeClasses: [16 * MiB], maxBytes: 256 * MiB, trimAfterMs: 0 });
    const w = new Worker(fixture, { workerData: { poolId: pool.id, url: server.url, key: 'slow', rounds: 2, expectedLength: 8 * MiB } });
    await until(() => pool.stats().inUseBytes >= 2 * 16 * MiB && server.stats.inFlight > 0, 'the worker mid-download');
    expect(await w.terminate()).toBe(1);
    await until(() => pool.stats().inUseBytes === 0, 'the terminated worker blocks back');
    server.setFaults([]);
    // The process and the server are fine: the main thread still downloads.
    const buf = await get('s3://w/slow', { storeOptions, cache: false });
    expect(buf.length).toBe(8 * MiB);
    release(buf);
  });
});
