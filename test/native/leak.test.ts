// Long loops must leave RSS flat, and trimming must hand memory back to the OS.
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/index.js';
import { requireGc, until } from '../support/wait.js';

const MiB = 1 << 20;
const gc = requireGc();
const rss = () => process.memoryUsage().rss;
const turn = () => new Promise((r) => setImmediate(r));
// AddressSanitizer's quarantine keeps freed memory on purpose: RSS bounds mean nothing under it.
const underAsan = (process.env.LD_PRELOAD ?? '').includes('libasan');
// qemu-user (the arm64 tests) answers /proc/self/stat with zeros: there RSS reads 0 and says nothing.
const rssReadable = rss() > 0;

describe.each([
  ['native', 'auto'],
  ['js', 'js'],
] as const)('memory over many cycles (%s)', (_name, implementation) => {
  it('100,000 acquire/release cycles keep RSS flat', async () => {
    const pool = new BufferPool({ implementation, sizeClasses: [64 * 1024, MiB], maxBytes: 256 * MiB, trimAfterMs: 0 });
    const cycle = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const buf = await pool.acquire(i % 2 ? 64 * 1024 : 700_000);
        buf[0] = i;
        pool.release(buf); // no turn of the loop: acquire waits the turn for this block rather than map another
      }
      await until(() => pool.stats().inUseBytes === 0, 'every block back');
      gc();
    };
    await cycle(20_000); // warm up: pools, JIT, heap
    const start = rss();
    await cycle(100_000);
    const growth = rss() - start;
    expect(pool.stats().taken).toBe(120_000);
    expect(pool.stats().fresh).toBeLessThan(50);
    if (!underAsan && rssReadable) expect(growth).toBeLessThan(24 * MiB);
  });

  it('buffers dropped without release all come back after garbage collection', async () => {
    // The cap is above what the loop takes: an acquire waiting on the cap would wait for a GC that only
    // V8's own heuristics schedule (see README, "Release what you are done with").
    const pool = new BufferPool({ implementation, sizeClasses: [MiB], maxBytes: 2048 * MiB, trimAfterMs: 0 });
    for (let i = 0; i < 1_000; i++) {
      (await pool.acquire(MiB))[0] = 1;
      if (i % 100 === 0) await turn();
    }
    await until(() => pool.stats().inUseBytes === 0, 'the collector to return every block');
    expect(pool.stats().returned).toBe(1_000);
    expect(pool.stats().collectedWithoutRelease).toBe(1_000);
  });

  it.skipIf(!rssReadable)('trim gives idle memory back to the OS (RSS drops)', async () => {
    const pool = new BufferPool({ implementation, sizeClasses: [64 * MiB], maxBytes: 1024 * MiB, trimAfterMs: 0 });
    const bufs = await Promise.all([1, 2, 3, 4].map(() => pool.acquire(64 * MiB)));
    bufs.forEach((b) => b.fill(1)); // touch every page
    bufs.forEach((b) => pool.release(b));
    await until(() => pool.stats().idleBytes === 256 * MiB, 'blocks to go idle');
    const before = rss();
    expect(pool.trim()).toBe(256 * MiB);
    await until(() => before - rss() > 192 * MiB, 'RSS to drop after trim');
  });
});
