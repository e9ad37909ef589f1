// Range threads: ranges read on worker threads straight into the pooled block. What holds on the calling
// thread is checked again with threads by the 'threads' test project (the HTTP files under
// RANGEPOOL_THREADS=2); here is what only threads have: work spread over them, a thread that dies
// mid-download, the memory rule on abort, the cap across threads, and teardown.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool, RangeEngine, defaultPool, getObject, metaCache, release, type GetOptions } from '../src/index.js';
import { binding } from '../src/native.js';
import { S3Store } from '../src/stores/s3.js';
import { defaultThreads } from '../src/engine/threads-default.js';
import { startObjectServer, type ObjectServer } from '../testing/object-server/index.js';
import { root } from '../testing/spawn.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
let server: ObjectServer;
const data = randomBytes(8 * MiB + 13);

beforeAll(async () => {
  server = await startObjectServer();
  server.put('t', 'obj', data);
});
afterAll(() => server.close());

/** A store of its own (fresh connections), an engine on two threads with 1 MiB parts. */
const opts = (more: GetOptions = {}): GetOptions => ({
  store: new S3Store({ endpoint: server.url, credentials }),
  engine: new RangeEngine({ threads: 2, partSize: MiB, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
  cache: false,
  ...more,
});

describe.skipIf(!binding)('range threads', () => {
  it('read the ranges byte-exact, spread over both threads', async () => {
    const engine = new RangeEngine({ threads: 2, partSize: MiB });
    await engine.threads!.ready();
    const busy = () => engine.threads!.workers.map((w) => w.performance.eventLoopUtilization().active);
    const before = busy();
    const obj = await getObject('s3://t/obj', opts({ engine }));
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats).toMatchObject({ threads: 2, ranges: 9, transport: 'direct' });
    release(obj.buffer);
    const after = busy();
    expect(after).toHaveLength(2);
    after.forEach((ms, i) => expect(ms).toBeGreaterThan(before[i]!)); // both threads worked
    expect(new RangeEngine({ threads: 2 }).threads).toBe(engine.threads); // the process's threads, shared
  });

  it('an abort settles only once every thread stopped writing: the views and the pool are back at once', async () => {
    server.setFaults([{ kind: 'stall', afterBytes: 100_000, ms: 60_000, match: { key: 'obj' } }]);
    const pool = new BufferPool({ trimAfterMs: 0 });
    const ac = new AbortController();
    const got = getObject('s3://t/obj', opts({ pool, signal: ac.signal }));
    await until(() => pool.stats().views > 0, 'ranges reading on the threads');
    ac.abort();
    await expect(got).rejects.toMatchObject({ code: 'Aborted' });
    server.setFaults([]);
    // The views went back before the threads answered; the block at the next turn.
    expect(pool.stats().views).toBe(0);
    await until(() => pool.stats().inUseBytes === 0, 'the block back');
  });

  it('a thread that dies mid-download: its ranges go again on another, the download is exact, the pool back', async () => {
    const o = opts();
    const threads = (o.engine as RangeEngine).threads!;
    await threads.ready();
    // Every request stalls a second, the straggler's second asks too: ranges stay in flight on both threads
    // for that long whatever the governor does, so the wait below cannot miss them on a loaded machine (with
    // four stalls only, re-asked stragglers could finish the download between two looks).
    server.setFaults([{ kind: 'stall', afterBytes: 50_000, ms: 1000, probability: 1, match: { key: 'obj' } }]);
    const pool = new BufferPool({ trimAfterMs: 0 });
    const got = getObject('s3://t/obj', { ...o, pool });
    await until(() => pool.stats().views >= 2, 'ranges on both threads');
    const victim = threads.workers[0]!;
    await victim.terminate();
    const obj = await got;
    server.setFaults([]);
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats.retries).toBeGreaterThan(0);
    release(obj.buffer);
    await until(() => pool.stats().inUseBytes === 0 && pool.stats().views === 0, 'the pool back');
    expect(threads.workers).toHaveLength(2); // replaced
    expect(threads.workers).not.toContain(victim);
  });

  it('the cap holds across threads: in-use never passes it, and every download is exact', async () => {
    const pool = new BufferPool({ sizeClasses: [16 * MiB], maxBytes: 32 * MiB, trimAfterMs: 0 });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, pool.stats().inUseBytes)), 1);
    const o = opts({ pool });
    const exact = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const { buffer, stats } = await getObject('s3://t/obj', o);
        const ok = buffer.equals(data) && stats.threads === 2;
        release(buffer); // two fit under the cap: the others wait for these
        return ok;
      }),
    );
    clearInterval(sampler);
    expect(exact).toEqual(Array(8).fill(true));
    expect(Math.max(peak, pool.stats().peakInUseBytes)).toBeLessThanOrEqual(32 * MiB);
    expect(pool.stats().waits).toBeGreaterThan(0);
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
  });

  it('with the JS fallback pool (no views to lend), ranges are read on the calling thread', async () => {
    const pool = new BufferPool({ implementation: 'js' });
    const obj = await getObject('s3://t/obj', opts({ pool }));
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats.threads).toBe(0);
    release(obj.buffer);
  });

  it('the SDK transport has no range threads to use', async () => {
    const obj = await getObject('s3://t/obj', opts({ store: new S3Store({ endpoint: server.url, credentials, transport: 'sdk' }) }));
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats).toMatchObject({ threads: 0, transport: 'sdk' });
    release(obj.buffer);
  });
});

describe.skipIf(!binding)('an abort ends the work at once (issue 35, 12: it took up to 1.38 s with threads)', () => {
  it('while the range threads are still starting: the download rejects before they are ready', async () => {
    const engine = new RangeEngine({ threads: 5, partSize: MiB }); // a set of its own, not started yet
    const ready = engine.threads!.ready().then(() => 'threads ready');
    const ac = new AbortController();
    const download = getObject('s3://t/obj', opts({ engine, signal: ac.signal }));
    setTimeout(() => ac.abort(), 20); // once the download waits for the threads (they take hundreds of ms)
    const first = await Promise.race([download.then(() => 'resolved', (e: { code?: string }) => `rejected ${e.code}`), ready]);
    expect(first).toBe('rejected Aborted');
    await ready;
    await Promise.all(engine.threads!.workers.map((w) => w.terminate()));
  });

  it.each([2, 0])('while a request is being signed (credentials that never come), threads %i: Aborted, not a hang', async (threads) => {
    const store = new S3Store({ endpoint: server.url, credentials: () => new Promise(() => {}) });
    const engine = new RangeEngine({ threads, partSize: MiB });
    await engine.threads?.ready();
    const ac = new AbortController();
    const download = getObject('s3://t/obj', opts({ store, engine, signal: ac.signal }));
    setTimeout(() => ac.abort(), 20);
    await expect(download).rejects.toMatchObject({ code: 'Aborted' });
  });
});

describe('the threads option', () => {
  it('is a whole number, from the option or RANGEPOOL_THREADS', () => {
    expect(() => new RangeEngine({ threads: -1 })).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('threads must be a whole number') }));
    expect(() => new RangeEngine({ threads: 1.5 })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    const saved = process.env.RANGEPOOL_THREADS;
    try {
      process.env.RANGEPOOL_THREADS = '3';
      expect(new RangeEngine().options.threads).toBe(3);
      expect(new RangeEngine({ threads: 0 }).options.threads).toBe(0); // the option wins
      process.env.RANGEPOOL_THREADS = 'many';
      expect(() => new RangeEngine()).toThrow(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining('RANGEPOOL_THREADS') }));
      delete process.env.RANGEPOOL_THREADS;
      const d = defaultThreads();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(8);
    } finally {
      if (saved === undefined) delete process.env.RANGEPOOL_THREADS;
      else process.env.RANGEPOOL_THREADS = saved;
    }
  });
});

describe.skipIf(!binding)('teardown with range threads', () => {
  // In a child process (the built package), against this process's server.
  const child = (script: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
      const t0 = performance.now();
      const p = execFile(process.execPath, ['--input-type=module', '-e', script, server.url], { cwd: root, env: { ...process.env, RANGEPOOL_THREADS: '2' }, timeout: 30_000 }, (_e, stdout, stderr) =>
        resolve({ code: p.exitCode, stdout, stderr: stderr.replace(/^.*NodeVersionSupportWarning[\s\S]*?--trace-warnings[^\n]*\n/m, ''), ms: performance.now() - t0 }),
      );
    });
  const prelude = `
    import { getObject, release } from './dist/index.js';
    const storeOptions = { endpoint: process.argv[1], credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  `;

  it('threads never keep the process alive: it ends on its own after its downloads', async () => {
    const r = await child(`${prelude}
      const o = await getObject('s3://t/obj', { storeOptions, cache: false });
      console.log(o.buffer.length, o.stats.threads);
      release(o.buffer);
    `);
    expect(r).toMatchObject({ code: 0, stdout: `${data.length} 2\n`, stderr: '' });
  });

  it('process.exit() while ranges are being read on the threads: exit code 0, nothing on stderr', async () => {
    server.setFaults([{ kind: 'stall', afterBytes: 10_000, ms: 5_000, match: { key: 'slow' } }]);
    server.put('t', 'slow', data);
    const r = await child(`${prelude}
      getObject('s3://t/slow', { storeOptions, cache: false }).catch(() => {});
      setTimeout(() => process.exit(0), 300);
    `);
    server.setFaults([]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});

afterAll(async () => {
  metaCache.clear();
  await until(() => defaultPool().stats().views === 0, 'no views left');
});
