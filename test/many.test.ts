// getMany(): a prefix of many objects, small and large, under a cap smaller than their sum; early
// break, abort, a missing object among many, input order; and to a directory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool, RangeEngine, getMany, listEach, release, type ManyResult } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const objects = new Map<string, Buffer>();
let server: Awaited<ReturnType<typeof startObjectServer>>;
let storeOptions: { endpoint: string; credentials: typeof credentials };
const engine = new RangeEngine({ partSize: MiB, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
const dir = mkdtempSync(join(tmpdir(), 'rangepool-many-'));

beforeAll(async () => {
  server = await startObjectServer();
  for (let i = 0; i < 200; i++) objects.set(`set/small-${String(i).padStart(3, '0')}`, randomBytes(1000 + i * 37));
  for (let i = 0; i < 20; i++) objects.set(`set/large-${String(i).padStart(2, '0')}`, randomBytes(3 * MiB + i));
  for (const [key, data] of objects) server.put('b', key, data);
  for (let i = 0; i < 2500; i++) server.put('b', `pages/k-${String(i).padStart(4, '0')}`, Buffer.from([i & 255]));
  storeOptions = { endpoint: server.url, credentials };
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('getMany()', () => {
  it('a prefix of 200 small and 20 large objects under a cap smaller than their sum: all exact, in-use never above the cap', async () => {
    const cap = 16 * MiB; // the objects hold 60+ MiB
    const pool = new BufferPool({ maxBytes: cap });
    const seen = new Set<string>();
    let peak = 0;
    for await (const r of getMany('s3://b/set/', { storeOptions, engine, pool })) {
      expect(r.error).toBeUndefined();
      const key = r.uri.slice('s3://b/'.length);
      expect(r.buffer!.equals(objects.get(key)!)).toBe(true);
      seen.add(key);
      peak = Math.max(peak, pool.stats().inUseBytes);
      release(r.buffer!);
    }
    expect(seen.size).toBe(220);
    expect(peak).toBeLessThanOrEqual(cap);
    expect(pool.stats().peakInUseBytes).toBeLessThanOrEqual(cap);
    await until(() => pool.stats().inUseBytes === 0, 'the pool back at the start');
  });

  it('16 objects in flight give no MaxListenersExceededWarning (each listens to the stop signal only while it runs)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      for await (const r of getMany('s3://b/set/small-0', { storeOptions, engine, objects: 16 })) release(r.buffer!);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('breaking out early stops what is in flight and returns every buffer', async () => {
    const pool = new BufferPool();
    let n = 0;
    for await (const r of getMany('s3://b/set/large-', { storeOptions, engine, pool, objects: 4 })) {
      release(r.buffer!);
      if (++n === 2) break;
    }
    await until(() => pool.stats().inUseBytes === 0, 'every buffer back');
    // Requests sent just before the stop may still reach the server; none may start after it.
    await new Promise((r) => setTimeout(r, 100));
    const gets = server.stats.requests.GET;
    await new Promise((r) => setTimeout(r, 200));
    expect(server.stats.requests.GET).toBe(gets);
  });

  it('an abort ends the loop as Aborted and returns every buffer', async () => {
    const pool = new BufferPool();
    const ac = new AbortController();
    const err = await (async () => {
      for await (const r of getMany('s3://b/set/', { storeOptions, engine, pool, signal: ac.signal })) {
        if (r.buffer) release(r.buffer);
        ac.abort();
      }
    })().catch((e) => e);
    expect(err).toMatchObject({ code: 'Aborted' });
    await until(() => pool.stats().inUseBytes === 0, 'every buffer back');
  });

  it('one missing object among many is yielded as its error; the others arrive; failFast throws it', async () => {
    const uris = ['s3://b/set/small-000', 's3://b/set/no-such-key', 's3://b/set/small-001', 's3://b/set/large-00'];
    const results: ManyResult[] = [];
    for await (const r of getMany(uris, { storeOptions, engine, ordered: true })) {
      results.push(r);
      if (r.buffer) release(r.buffer);
    }
    expect(results.map((r) => r.uri)).toEqual(uris); // ordered: input order
    expect(results.map((r) => r.error?.code)).toEqual([undefined, 'NotFound', undefined, undefined]);
    await expect(
      (async () => {
        for await (const r of getMany(uris, { storeOptions, engine, failFast: true, objects: 1 })) if (r.buffer) release(r.buffer);
      })(),
    ).rejects.toMatchObject({ code: 'NotFound', uri: 's3://b/set/no-such-key' });
  });

  it('objects must be a positive integer', async () => {
    await expect(getMany([], { objects: 0 }).next()).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it("to a directory: the tree mirrors the keys below the prefix, and a key that could leave it is refused, not written", async () => {
    server.put('h', 'p/ok/a', Buffer.from('a'));
    server.put('h', 'p/../escape', Buffer.from('x'));
    server.put('h', 'p//double', Buffer.from('x'));
    server.put('h', 'p/dir/', Buffer.alloc(0)); // a folder marker: skipped
    const out = join(dir, 'tree');
    const results: ManyResult[] = [];
    for await (const r of getMany('s3://h/p/', { storeOptions, engine, to: out })) results.push(r);
    const byUri = Object.fromEntries(results.map((r) => [r.uri, r.error?.code ?? r.path]));
    expect(byUri).toEqual({ 's3://h/p/ok/a': join(out, 'ok', 'a'), 's3://h/p/../escape': 'InvalidArgument', 's3://h/p//double': 'InvalidArgument' });
    expect(readFileSync(join(out, 'ok', 'a'), 'utf8')).toBe('a');
    expect(() => readFileSync(join(dir, 'escape'))).toThrow();
  });
});

describe('listing a prefix of several pages (1,000 keys each)', () => {
  const lists = () => server.stats.requests.LIST ?? 0;

  it('the next page is asked for as soon as one is handed over, never more than one ahead; every key once, in order', async () => {
    const before = lists();
    const keys: string[] = [];
    for await (const e of listEach('s3://b/pages/', { storeOptions, engine })) {
      if (keys.length === 0) {
        // The first page is in hand: its successor is on its way without another entry asked for.
        await until(() => lists() - before === 2, 'the second page asked for while the first is worked through');
        await new Promise((r) => setTimeout(r, 50));
        expect(lists() - before).toBe(2);
      }
      keys.push(e.key);
    }
    expect(lists() - before).toBe(3);
    expect(keys).toEqual(Array.from({ length: 2500 }, (_, i) => `pages/k-${String(i).padStart(4, '0')}`));
  });

  it('a loop stopped early aborts the page asked ahead (nothing left in flight, no unhandled rejection)', async () => {
    for await (const e of listEach('s3://b/pages/', { storeOptions, engine })) {
      expect(e.key).toBe('pages/k-0000');
      break;
    }
    await until(() => server.stats.inFlight === 0, 'no request left in flight');
  });

  it('getMany over the pages: all 2,500 objects, exact', async () => {
    let n = 0;
    for await (const r of getMany('s3://b/pages/', { storeOptions, engine })) {
      expect(r.error).toBeUndefined();
      expect(r.buffer![0]).toBe(Number(r.uri.slice(-4)) & 255);
      release(r.buffer!);
      n++;
    }
    expect(n).toBe(2500);
  });
});
