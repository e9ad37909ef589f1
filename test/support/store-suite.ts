// The conformance suite every store runs against its real server: exact bytes at the edge sizes,
// 32 concurrent gets, typed errors for what is missing, and the pool back where it started.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RangeEngine, defaultPool, download, get, getMany, getObject, getRange, list, metaCache, release, stat, stream, type GetOptions, type StoreOptions, type Transport } from '../../src/index.js';
import { writerFor } from '../../testing/writers.js';
import { until } from './wait.js';

const MiB = 1 << 20;
export const PART = MiB;
export const engine = new RangeEngine({ partSize: PART, concurrency: 8, retry: { baseDelayMs: 5, maxDelayMs: 50 } });

export interface Target {
  /** URI of `key` in the suite's bucket/container/directory. */
  uri(key: string): string;
  /** URI of `key` in a bucket/container that does not exist. */
  missingBucketUri(key: string): string;
  storeOptions: StoreOptions;
  /** For HTTP stores: the transport that must have read the ranges. */
  transport?: Transport;
}

export function storeSuite(name: string, target: () => Target, { largest = 64 * MiB + 7 } = {}) {
  describe(`${name}: conformance`, () => {
    let startInUse = 0;
    const opts = (): GetOptions => ({ storeOptions: target().storeOptions, engine, cache: false });
    const put = async (key: string, data: Buffer) => (await writerFor(target().uri(key), target().storeOptions)).put(target().uri(key), data);

    beforeEach(() => {
      metaCache.clear();
      startInUse = defaultPool().stats().inUseBytes;
    });
    afterEach(async () => {
      await until(() => defaultPool().stats().inUseBytes === startInUse, 'the pool back to where the test started');
    });

    it.each([0, 1, PART - 1, PART, PART + 1, 3 * PART + 7, largest])('%d bytes come back exact', async (size) => {
      const data = randomBytes(size);
      await put(`sizes/${size}`, data);
      expect((await stat(target().uri(`sizes/${size}`), opts())).size).toBe(size);
      const buf = await get(target().uri(`sizes/${size}`), opts());
      expect(buf.length).toBe(size);
      expect(buf.equals(data)).toBe(true);
      release(buf);
    });

    it('reads ranges over the transport it was given, byte-exact', async () => {
      const data = randomBytes(2 * PART + 3);
      await put('transport', data);
      const obj = await getObject(target().uri('transport'), opts());
      expect(obj.stats.transport).toBe(target().transport);
      expect(obj.buffer.equals(data)).toBe(true);
      release(obj.buffer);
    });

    it('32 concurrent get()s of one object are all exact', async () => {
      const data = randomBytes(4 * PART + 11);
      await put('concurrent', data);
      const bufs = await Promise.all(Array.from({ length: 32 }, () => get(target().uri('concurrent'), opts())));
      expect(bufs.every((b) => b.equals(data))).toBe(true);
      bufs.forEach(release);
    });

    it('getRange returns the span asked for', async () => {
      const data = randomBytes(3 * PART);
      await put('span', data);
      const buf = await getRange(target().uri('span'), PART - 5, PART + 10, opts());
      expect(buf.equals(data.subarray(PART - 5, 2 * PART + 5))).toBe(true);
      release(buf);
      await expect(getRange(target().uri('span'), 3 * PART - 1, 2, opts())).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(getRange(target().uri('span'), -1, 2, opts())).rejects.toMatchObject({ code: 'InvalidArgument' });
    });

    it('lists what was put', async () => {
      await put('listed/a', randomBytes(3));
      await put('listed/b', randomBytes(5));
      const entries = await list(target().uri('listed/'), { storeOptions: target().storeOptions });
      expect(entries.map((e) => [e.key.slice(e.key.indexOf('listed/')), e.size])).toEqual([
        ['listed/a', 3],
        ['listed/b', 5],
      ]);
    });

    it("lists one level with the delimiter, as aws s3 ls: each folder once, the keys below it not listed", async () => {
      for (const k of ['tree/a', 'tree/d1/x', 'tree/d1/y/z', 'tree/d2/w', 'treex/q']) await put(k, randomBytes(2));
      const entries = await list(target().uri('tree/'), { storeOptions: target().storeOptions, delimiter: '/' });
      const shown = entries.map((e) => `${e.folder ? 'PRE ' : ''}${e.key.slice(e.key.indexOf('tree/'))}`).sort();
      expect(shown).toEqual(['PRE tree/d1/', 'PRE tree/d2/', 'tree/a']);
      const partial = await list(target().uri('tre'), { storeOptions: target().storeOptions, delimiter: '/' });
      expect(partial.filter((e) => e.folder).map((e) => e.key.slice(e.key.lastIndexOf('tre'))).sort()).toEqual(['tree/', 'treex/']);
    });

    it('getMany over a prefix brings every object exact; stream() and download() give the same bytes', async () => {
      const want = new Map([0, 1, 2].map((i) => [`many/${i}`, randomBytes(PART + i * 1000)]));
      for (const [key, data] of want) await put(key, data);
      const got = new Map<string, Buffer>();
      for await (const r of getMany(target().uri('many/'), { ...opts(), objects: 2 })) {
        expect(r.error).toBeUndefined();
        got.set(r.uri.slice(r.uri.indexOf('many/')), Buffer.from(r.buffer!));
        release(r.buffer!);
      }
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [key, data] of want) expect(got.get(key)!.equals(data)).toBe(true); // equals(): toEqual walks bytes one by one
      const data = want.get('many/2')!;
      const chunks: Buffer[] = [];
      for await (const c of stream(target().uri('many/2'), { ...opts(), readAhead: PART })) chunks.push(Buffer.from(c));
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      const dir = mkdtempSync(join(tmpdir(), 'suite-dl-'));
      await download(target().uri('many/2'), join(dir, 'f'), opts());
      expect(readFileSync(join(dir, 'f')).equals(data)).toBe(true);
      rmSync(dir, { recursive: true });
    });

    it('deletes', async () => {
      await put('deleted', randomBytes(3));
      await (await writerFor(target().uri('deleted'), target().storeOptions)).delete(target().uri('deleted'));
      await expect(stat(target().uri('deleted'), opts())).rejects.toMatchObject({ code: 'NotFound' });
    });

    it('a missing object or bucket is NotFound, with the URI', async () => {
      for (const uri of [target().uri('no/such/key'), target().missingBucketUri('key')]) {
        const err = await get(uri, opts()).catch((e) => e);
        expect(err).toMatchObject({ name: 'RangepoolError', code: 'NotFound', uri });
      }
    });
  });
}
