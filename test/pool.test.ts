// The pool's contract, run against both implementations: the native addon and the JS fallback.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BufferPool, RangepoolError, release, type BufferPoolOptions } from '../src/index.js';
import { until } from './support/wait.js';

const MiB = 1024 * 1024;
const small: BufferPoolOptions = { sizeClasses: [MiB, 4 * MiB], idlePerClass: 4, maxBytes: 64 * MiB, trimAfterMs: 0 };

describe.each([
  ['native', 'auto'],
  ['js', 'js'],
] as const)('BufferPool (%s)', (name, implementation) => {
  const make = (opts: BufferPoolOptions = {}) => new BufferPool({ ...small, ...opts, implementation });

  it('uses the implementation asked for', () => {
    expect(make().native).toBe(name === 'native');
  });

  it('gives a buffer of exactly the size asked for, with no bytes past it', async () => {
    const pool = make();
    for (const size of [1, 4095, 4096, MiB - 1, MiB, MiB + 1, 3 * MiB + 7]) {
      const buf = await pool.acquire(size);
      expect(buf.length).toBe(size);
      expect(buf.buffer.byteLength).toBe(size);
      expect(buf.byteOffset).toBe(0);
      expect(pool.capacityOf(buf)).toBe(size <= MiB ? MiB : 4 * MiB);
      pool.release(buf);
    }
  });

  it('reuses a returned block (take, return, take: reused 1)', async () => {
    const pool = make();
    const a = await pool.acquire(1000);
    pool.release(a);
    await until(() => pool.stats().returned === 1, 'the block to come back');
    const b = await pool.acquire(2000);
    const s = pool.stats();
    expect(s).toMatchObject({ taken: 2, returned: 1, fresh: 1, reused: 1, inUseBytes: MiB, idleBytes: 0 });
    pool.release(b);
    await until(() => pool.stats().idleBytes === MiB, 'the block to go idle');
  });

  it('an acquire right after a release waits the turn for that block instead of mapping a fresh one', async () => {
    const pool = make();
    for (let i = 0; i < 20; i++) pool.release(await pool.acquire(1000));
    expect(pool.stats()).toMatchObject({ taken: 20, fresh: 1, reused: 19 });
    expect(pool.tryAcquire(1000)).toBeDefined(); // the synchronous form never waits
  });

  it('release detaches every view at once, and twice is a no-op', async () => {
    const pool = make();
    const buf = await pool.acquire(4096);
    const u8 = new Uint8Array(buf.buffer);
    const f64 = new Float64Array(buf.buffer, 8, 4);
    const dv = new DataView(buf.buffer);
    release(buf);
    expect(buf.length).toBe(0);
    expect(u8.length).toBe(0);
    expect(f64.length).toBe(0);
    expect(() => dv.getUint8(0)).toThrow(TypeError);
    expect(buf.buffer.byteLength).toBe(0);
    expect(() => release(buf)).not.toThrow();
    expect(() => pool.release(u8)).not.toThrow();
    await until(() => pool.stats().returned === 1, 'the block to come back');
    expect(pool.stats().returned).toBe(1);
  });

  it('refuses buffers it did not hand out, with a TypeError and no change', async () => {
    const pool = make();
    const other = make();
    const theirs = await other.acquire(100);
    const before = pool.stats();
    expect(() => pool.release(Buffer.alloc(10))).toThrow(TypeError);
    expect(() => pool.release(Buffer.from('pooled by node'))).toThrow(TypeError);
    expect(() => pool.release(new ArrayBuffer(16))).toThrow(TypeError);
    expect(() => release(new Uint8Array(8))).toThrow(TypeError);
    expect(() => pool.release(theirs)).toThrow(TypeError);
    expect(() => pool.release({} as Buffer)).toThrow(TypeError);
    expect(theirs.length).toBe(100); // still intact
    expect(pool.stats()).toEqual(before);
    other.release(theirs);
  });

  it('zero size gives an unpooled empty buffer; releasing it is a no-op', async () => {
    const pool = make();
    const buf = await pool.acquire(0);
    expect(buf.length).toBe(0);
    expect(pool.stats().taken).toBe(0);
    expect(() => pool.release(buf)).not.toThrow();
    expect(() => release(buf)).not.toThrow();
  });

  it('rejects bad sizes with InvalidArgument and leaves the pool as it was', async () => {
    const pool = make();
    const before = pool.stats();
    for (const size of [-1, NaN, 1.5, Infinity, 65 * MiB, '10' as unknown as number]) {
      const err = await pool.acquire(size).catch((e) => e);
      expect(err).toBeInstanceOf(RangepoolError);
      expect(err.code).toBe('InvalidArgument');
    }
    expect(pool.stats()).toEqual(before);
  });

  it('rejects bad options with InvalidArgument', () => {
    for (const opts of [
      { sizeClasses: [4, 2] },
      { sizeClasses: [0] },
      { idlePerClass: -1 },
      { maxBytes: 0 },
      { maxBytes: NaN },
      { trimAfterMs: -5 },
    ]) {
      expect(() => make(opts)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
  });

  it('a request above the largest class gets a large block (a multiple of the granule), counted in the cap and kept for reuse', async () => {
    const pool = make(); // largest class 4 MiB: the granule is a quarter of it, 1 MiB
    const buf = await pool.acquire(5 * MiB + 3);
    expect(buf.length).toBe(5 * MiB + 3);
    expect(pool.capacityOf(buf)).toBe(6 * MiB);
    expect(pool.stats().inUseBytes).toBe(6 * MiB);
    pool.release(buf);
    await until(() => pool.stats().idleBytes === 6 * MiB, 'the large block to go idle');
    const again = await pool.acquire(5 * MiB + 1000); // another size that fits it
    expect(pool.stats()).toMatchObject({ fresh: 1, reused: 1, idleBytes: 0, inUseBytes: 6 * MiB });
    pool.release(again);
    await until(() => pool.stats().idleBytes === 6 * MiB, 'back idle');
  });

  it('reuses a large block only within the waste bound (at most an eighth more than the request needs)', async () => {
    const pool = make({ sizeClasses: [MiB], maxBytes: 256 * MiB }); // granule 256 KiB
    const big = await pool.acquire(40 * MiB);
    pool.release(big);
    await until(() => pool.stats().idleBytes === 40 * MiB, 'idle');
    const small = await pool.acquire(35 * MiB); // 40 > 35 + 35/8: a fresh block, not a 40 MiB one
    expect(pool.capacityOf(small)).toBe(35 * MiB);
    const near = await pool.acquire(36 * MiB); // 40 <= 36 + 4.5: the idle block serves it
    expect(pool.capacityOf(near)).toBe(40 * MiB);
    expect(pool.stats()).toMatchObject({ fresh: 2, reused: 1 });
    pool.release(small);
    pool.release(near);
  });

  it('retention follows the peak: as many blocks stay idle as were out at once, so the next batch maps nothing', async () => {
    const pool = make({ idlePerClass: 1024, maxBytes: 256 * MiB });
    for (let batch = 0; batch < 3; batch++) {
      const bufs = await Promise.all(Array.from({ length: 24 }, () => pool.acquire(4 * MiB)));
      bufs.forEach((b) => pool.release(b));
      await until(() => pool.stats().inUseBytes === 0, 'the batch back');
    }
    expect(pool.stats()).toMatchObject({ fresh: 24, reused: 48, idleBytes: 24 * 4 * MiB });
  });

  it('idle blocks are trimmed only once the whole pool has been quiet for trimAfterMs, never under steady load', async () => {
    const pool = make({ trimAfterMs: 300 });
    const old = await pool.acquire(MiB);
    pool.release(old);
    await until(() => pool.stats().idleBytes === MiB, 'idle');
    // Steady load on another class for longer than trimAfterMs: the idle 1 MiB block stays.
    const until600 = Date.now() + 600;
    while (Date.now() < until600) {
      pool.release(await pool.acquire(4 * MiB));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pool.stats().trimmedBytes).toBe(0);
    await until(() => pool.stats().idleBytes === 0, 'the trim once the pool went quiet');
    expect(pool.stats().trimmedBytes).toBe(5 * MiB);
  });

  it('skips a size class larger than the cap and gives a large block instead', async () => {
    const pool = make({ maxBytes: 3 * MiB });
    const buf = await pool.acquire(2 * MiB);
    expect(pool.stats().inUseBytes).toBe(2 * MiB);
    pool.release(buf);
  });

  it('makes acquires wait while the cap would be exceeded, first come first served', async () => {
    const pool = make({ maxBytes: 8 * MiB });
    const a = await pool.acquire(4 * MiB);
    const b = await pool.acquire(4 * MiB);
    const order: string[] = [];
    const c = pool.acquire(4 * MiB).then((buf) => (order.push('c'), buf));
    const d = pool.acquire(MiB).then((buf) => (order.push('d'), buf)); // fits, but must not jump the queue
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    expect(pool.stats().waits).toBe(2);
    pool.release(a);
    const cBuf = await c;
    expect(order).toEqual(['c']);
    pool.release(b);
    const dBuf = await d;
    expect(order).toEqual(['c', 'd']);
    expect(pool.stats().inUseBytes).toBeLessThanOrEqual(8 * MiB);
    pool.release(cBuf);
    pool.release(dBuf);
    await until(() => pool.stats().inUseBytes === 0, 'everything back');
  });

  it('a waiting acquire rejects with Aborted when its signal fires, and the queue moves on', async () => {
    const pool = make({ maxBytes: 4 * MiB });
    const held = await pool.acquire(4 * MiB);
    const ac = new AbortController();
    const waiting = pool.acquire(4 * MiB, { signal: ac.signal });
    const behind = pool.acquire(MiB);
    ac.abort(new Error('user gave up'));
    const err = await waiting.catch((e) => e);
    expect(err).toBeInstanceOf(RangepoolError);
    expect(err.code).toBe('Aborted');
    expect(err.cause.message).toBe('user gave up');
    pool.release(held);
    const next = await behind;
    expect(next.length).toBe(MiB);
    pool.release(next);
    const pre = new AbortController();
    pre.abort();
    await expect(pool.acquire(10, { signal: pre.signal })).rejects.toMatchObject({ code: 'Aborted' });
    await until(() => pool.stats().inUseBytes === 0, 'everything back');
  });

  it('evicts idle blocks of other classes to make room under the cap', async () => {
    const pool = make({ maxBytes: 5 * MiB });
    const a = await pool.acquire(MiB);
    pool.release(a);
    await until(() => pool.stats().idleBytes === MiB, 'the small block to go idle');
    const big = await pool.acquire(4 * MiB + 1); // oversize here: 4 MiB class is full size only
    expect(pool.stats().trimmedBytes).toBe(MiB);
    expect(pool.stats().idleBytes).toBe(0);
    pool.release(big);
  });

  it('under the cap, the least recently returned idle block is evicted first, whatever its class', async () => {
    const pool = make({ sizeClasses: [MiB, 2 * MiB, 4 * MiB], maxBytes: 6 * MiB });
    pool.release(await pool.acquire(4 * MiB));
    await until(() => pool.stats().idleBytes === 4 * MiB, 'the 4 MiB block idle');
    pool.release(await pool.acquire(MiB));
    await until(() => pool.stats().idleBytes === 5 * MiB, 'the 1 MiB block idle');
    const two = await pool.acquire(2 * MiB); // 5 idle + 2 > 6: one must go, the older
    expect(pool.stats()).toMatchObject({ trimmedBytes: 4 * MiB, idleBytes: MiB });
    pool.release(two);
  });

  it('trim() gives idle memory back to the OS', async () => {
    const pool = make();
    const bufs = await Promise.all([pool.acquire(MiB), pool.acquire(MiB)]);
    bufs.forEach((b) => pool.release(b));
    await until(() => pool.stats().idleBytes === 2 * MiB, 'blocks to go idle');
    expect(pool.trim()).toBe(2 * MiB);
    expect(pool.stats()).toMatchObject({ idleBytes: 0, trimmedBytes: 2 * MiB });
  });

  it('trims idle blocks by itself after trimAfterMs', async () => {
    const pool = make({ trimAfterMs: 150 });
    const buf = await pool.acquire(MiB);
    pool.release(buf);
    await until(() => pool.stats().idleBytes === MiB, 'the block to go idle');
    await until(() => pool.stats().idleBytes === 0, 'idle trim');
    expect(pool.stats().trimmedBytes).toBe(MiB);
  });

  it('keeps at most idlePerClass blocks idle', async () => {
    const pool = make({ idlePerClass: 2 });
    const bufs = await Promise.all([1, 2, 3, 4].map(() => pool.acquire(MiB)));
    bufs.forEach((b) => pool.release(b));
    await until(() => pool.stats().returned === 4, 'all back');
    expect(pool.stats().idleBytes).toBe(2 * MiB);
  });

  it('a buffer dropped without release comes back after garbage collection', async () => {
    const pool = make();
    (await pool.acquire(MiB)).fill(1); // dropped at once
    expect(pool.stats().inUseBytes).toBe(MiB);
    await until(() => pool.stats().inUseBytes === 0, 'the collector to return the block');
    expect(pool.stats().returned).toBe(1);
    await until(() => pool.stats().collectedWithoutRelease === 1, 'the diagnostic count');
  });

  it('a buffer posted to another thread (in a transfer list when it can be) and then released leaves the pool usable and its count right', async () => {
    const pool = make();
    const buf = await pool.acquire(MiB);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<ArrayBuffer>((r) => port2.once('message', r));
    try {
      port1.postMessage(buf.buffer, [buf.buffer as ArrayBuffer]); // the JS pool's memory moves
    } catch (e) {
      // A native block is an external buffer: Node 22+ refuses to transfer it (Node 20 copies it).
      expect([name, (e as Error).name]).toEqual(['native', 'DataCloneError']);
      port1.postMessage(buf.buffer);
    }
    expect((await received).byteLength).toBe(MiB);
    port1.close();
    pool.release(buf);
    await until(() => pool.stats().inUseBytes === 0, 'the block counted back');
    const next = await pool.acquire(MiB);
    expect(next.length).toBe(MiB);
    next.fill(1);
    pool.release(next);
  });

  it('a lease releases its buffer at the end of the scope', async () => {
    const pool = make();
    let seen: Buffer;
    {
      const lease = await pool.lease(1234);
      seen = lease.buffer;
      expect(seen.length).toBe(1234);
      lease[Symbol.dispose]();
    }
    expect(seen.length).toBe(0);
  });

  it('poison fills released blocks so use after release shows', async () => {
    const pool = make({ poison: true, idlePerClass: 1 });
    const a = await pool.acquire(4096);
    a.fill(7);
    pool.release(a);
    await until(() => pool.stats().returned === 1, 'the block to come back');
    const b = await pool.acquire(4096);
    expect(pool.stats().reused).toBe(1);
    expect(b.every((x) => x === 0xdb)).toBe(true);
    pool.release(b);
  });
});

describe('fresh blocks (native pool)', () => {
  it('with prefault, are mapped and faulted in on a threadpool thread before acquire() resolves: resident before the first write', async () => {
    const pool = new BufferPool({ sizeClasses: [64 * MiB], maxBytes: 512 * MiB, trimAfterMs: 0, prefault: true });
    const before = process.memoryUsage().rss;
    const buf = await pool.acquire(64 * MiB);
    const grew = process.memoryUsage().rss - before;
    expect(pool.stats()).toMatchObject({ fresh: 1, prefaulted: 1 });
    expect(grew).toBeGreaterThan(60 * MiB); // the pages are there, though nothing wrote to them
    // tryAcquire cannot wait, and a pool without prefault does not: mapped at once, faulted in as written.
    const now = pool.tryAcquire(64 * MiB)!;
    const lazy = new BufferPool({ sizeClasses: [64 * MiB], maxBytes: 512 * MiB, trimAfterMs: 0 });
    const later = await lazy.acquire(64 * MiB);
    expect(pool.stats()).toMatchObject({ fresh: 2, prefaulted: 1 });
    expect(lazy.stats()).toMatchObject({ fresh: 1, prefaulted: 0 });
    lazy.release(later);
    pool.release(buf);
    pool.release(now);
    await until(() => pool.stats().inUseBytes === 0, 'back');
    pool.trim();
  });

  it('count against the cap from the moment they are asked for: concurrent fresh acquires never pass it', async () => {
    const pool = new BufferPool({ sizeClasses: [4 * MiB], maxBytes: 8 * MiB, trimAfterMs: 0, prefault: true });
    const order: number[] = [];
    const all = [1, 2, 3].map((i) => pool.acquire(4 * MiB).then((b) => (order.push(i), b)));
    const [a, b] = await Promise.all(all.slice(0, 2));
    expect(pool.stats()).toMatchObject({ inUseBytes: 8 * MiB, waits: 1 });
    expect(order.sort()).toEqual([1, 2]); // the third waits (the two fresh ones may finish in either order)
    pool.release(a!);
    const c = await all[2]!;
    expect(pool.stats().peakInUseBytes).toBe(8 * MiB);
    pool.release(b!);
    pool.release(c);
    await until(() => pool.stats().inUseBytes === 0, 'back');
  });
});
