// The range engine against the project's loopback server: exact bytes, retries that resume, stalls,
// consistency, abort, limits, verification — and the pool back where it started after each.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startObjectServer } from '../testing/object-server/index.js';
import { BufferPool, RangeEngine, RangepoolError, defaultPool, get, getObject, metaCache, release, stat, storeFor, type GetOptions } from '../src/index.js';
import { S3Store } from '../src/stores/s3.js';
import type { Transport } from '../src/stores/store.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
const part = MiB;
let server: Awaited<ReturnType<typeof startObjectServer>>;
let store: S3Store;
const stores = {} as Record<Transport, S3Store>;
let startInUse: number;

const engine = new RangeEngine({ partSize: part, concurrency: 4, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
const opts = (more: GetOptions = {}): GetOptions => ({ store, engine, cache: false, ...more });

beforeAll(async () => {
  server = await startObjectServer({ seed: 3 });
  server.createBucket('b');
  for (const transport of ['direct', 'sdk'] as const) {
    stores[transport] = new S3Store({ endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, transport });
  }
});
afterAll(() => server.close());
beforeEach(() => {
  server.setFaults([]);
  metaCache.clear();
  startInUse = defaultPool().stats().inUseBytes;
});
afterEach(async () => {
  await until(() => defaultPool().stats().inUseBytes === startInUse, 'the pool back to where the test started');
});

async function expectExact(uri: string, data: Buffer, more: GetOptions = {}) {
  const obj = await getObject(uri, opts(more));
  try {
    expect(obj.buffer.length).toBe(data.length);
    expect(obj.buffer.equals(data)).toBe(true);
  } finally {
    release(obj.buffer);
  }
  return obj.stats;
}

// Every behaviour holds on both transports: rangepool's own HTTP reader and the AWS SDK.
describe.each(['direct', 'sdk'] as const)('%s transport', (transport) => {
  beforeAll(() => {
    store = stores[transport];
  });

  describe('byte-exact downloads', () => {
    it.each([0, 1, part - 1, part, part + 1, 3 * part + 7, 64 * MiB + 7])('%d bytes', async (size) => {
      const data = randomBytes(size);
      server.put('b', `size-${size}`, data);
      const stats = await expectExact(`s3://b/size-${size}`, data);
      expect(stats.ranges).toBe(size === 0 ? 0 : Math.ceil(size / part));
    });

    it('32 concurrent get()s of one object', async () => {
      const data = randomBytes(5 * part + 3);
      server.put('b', 'shared', data);
      const bufs = await Promise.all(Array.from({ length: 32 }, () => get('s3://b/shared', opts())));
      expect(bufs.every((b) => b.equals(data))).toBe(true);
      bufs.forEach(release);
    });

    it('an object larger than the largest size class gets a large block, and the next get of it maps nothing', async () => {
      const pool = new BufferPool({ sizeClasses: [MiB, 2 * MiB], maxBytes: 64 * MiB, trimAfterMs: 0 });
      const data = randomBytes(5 * MiB + 1);
      server.put('b', 'oversize', data);
      for (let i = 0; i < 3; i++) {
        const buf = await get('s3://b/oversize', opts({ pool }));
        expect(buf.equals(data)).toBe(true);
        expect(pool.capacityOf(buf)).toBe(5.5 * MiB); // a multiple of the granule, a quarter of 2 MiB
        pool.release(buf);
        await until(() => pool.stats().returned === i + 1, 'the large block back');
      }
      expect(pool.stats()).toMatchObject({ inUseBytes: 0, idleBytes: 5.5 * MiB, fresh: 1, reused: 2 });
    });

    it('reports progress up to the total', async () => {
      const data = randomBytes(3 * part);
      server.put('b', 'progress', data);
      const seen: number[] = [];
      await expectExact('s3://b/progress', data, { onProgress: (p) => seen.push(p.bytes) });
      expect(seen[seen.length - 1]).toBe(data.length);
      expect(seen.every((b, i) => i === 0 || b > seen[i - 1]!)).toBe(true);
    });
  });

  describe('faults are retried, resuming from the last byte received', () => {
    const data = randomBytes(4 * part);
    beforeEach(() => server.put('b', 'f', data));

    it.each([
      ['500', { kind: 'status', status: 500 }],
      ['503 SlowDown', { kind: 'status', status: 503 }],
      ['429', { kind: 'status', status: 429 }],
      ['reset mid-body', { kind: 'reset', afterBytes: 300_000 }],
      ['short body', { kind: 'short', afterBytes: 1000 }],
      ['wrong Content-Range', { kind: 'wrongRange', shift: 10 }],
    ] as const)('%s', async (_name, rule) => {
      server.setFaults([{ ...rule, count: 3 }]);
      const stats = await expectExact('s3://b/f', data);
      expect(server.faultsFired()).toEqual([3]);
      expect(stats.retries).toBe(3);
    });

    it('a reset resumes from the byte where the body broke, not from the start of the range', async () => {
      server.setFaults([{ kind: 'reset', afterBytes: 300_000, count: 1 }]);
      const before = server.stats.bytesSent;
      await expectExact('s3://b/f', data);
      // Completed bodies count in bytesSent; the broken one does not. Resuming re-sends only the rest.
      expect(server.stats.bytesSent - before).toBe(data.length - 300_000);
    });

    it('a stalled range is abandoned and retried', async () => {
      const quick = new RangeEngine({ partSize: part, stallTimeoutMs: 200, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
      server.setFaults([{ kind: 'stall', afterBytes: 1000, ms: Infinity, count: 1 }]);
      const stats = await expectExact('s3://b/f', data, { engine: quick });
      expect(stats.retries).toBe(1);
    });

    it('a thread busy past stallTimeoutMs is not a silent server: the ranges in flight are not abandoned', async () => {
      const patient = new RangeEngine({ partSize: part, concurrency: 4, stallTimeoutMs: 1_000, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
      const big = randomBytes(4 * part);
      server.put('b', 'busy', big);
      let blocked = false;
      // At the first bytes: the other ranges have been started and have nothing yet.
      const onProgress = () => {
        if (blocked) return;
        blocked = true;
        for (const until = performance.now() + 2_500; performance.now() < until; ); // the caller's own work
      };
      const stats = await expectExact('s3://b/busy', big, { engine: patient, onProgress });
      expect(blocked).toBe(true);
      expect(stats.retries).toBe(0);
    });

    it('a thread that is always busy still gives a silent range up', async () => {
      const quick = new RangeEngine({ partSize: part, stallTimeoutMs: 200, retry: { retries: 0 } });
      server.setFaults([{ kind: 'stall', afterBytes: 0, ms: Infinity }]);
      // Every stall check comes late: the range is silent all the same, and must end.
      const busy = setInterval(() => {
        for (const until = performance.now() + 150; performance.now() < until; );
      }, 10);
      try {
        await expect(get('s3://b/f', opts({ engine: quick }))).rejects.toMatchObject({ code: 'Timeout' });
      } finally {
        clearInterval(busy);
      }
    });

    it('stat is retried too', async () => {
      server.setFaults([{ kind: 'status', status: 503, on: 'head', count: 2 }]);
      expect((await stat('s3://b/f', opts())).size).toBe(data.length);
      expect(server.faultsFired()).toEqual([2]);
    });

    it('gives up after the retry budget with a typed error, and returns the buffer', async () => {
      server.setFaults([{ kind: 'status', status: 503 }]);
      const err = await get('s3://b/f', opts()).catch((e) => e);
      expect(err).toBeInstanceOf(RangepoolError);
      expect(err.code).toBe('Unavailable');
      expect(err.uri).toBe('s3://b/f');
    });

    it('a stall past the budget ends as Timeout', async () => {
      const quick = new RangeEngine({ partSize: part, stallTimeoutMs: 100, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
      server.setFaults([{ kind: 'stall', afterBytes: 0, ms: Infinity }]);
      await expect(get('s3://b/f', opts({ engine: quick }))).rejects.toMatchObject({ code: 'Timeout' });
    });
  });

  describe('consistency', () => {
    it('an overwrite during the download is PreconditionFailed, never a mix', async () => {
      server.put('b', 'o', randomBytes(4 * part));
      server.setFaults([{ kind: 'overwrite', afterRequests: 2, data: randomBytes(4 * part), count: 1 }]);
      await expect(get('s3://b/o', opts({ concurrency: 1 }))).rejects.toMatchObject({ code: 'PreconditionFailed', uri: 's3://b/o' });
    });

    it('with restartOnChange, one restart returns the new version whole', async () => {
      const next = randomBytes(4 * part);
      server.put('b', 'o2', randomBytes(4 * part));
      server.setFaults([{ kind: 'overwrite', afterRequests: 2, data: next, count: 1 }]);
      await expectExact('s3://b/o2', next, { concurrency: 1, restartOnChange: true });
    });

    it('ifMatch refuses another version', async () => {
      server.put('b', 'im', randomBytes(10));
      await expect(get('s3://b/im', opts({ ifMatch: '"nope"' }))).rejects.toMatchObject({ code: 'PreconditionFailed' });
      await expectExact('s3://b/im', server.get('b', 'im')!.data, { ifMatch: server.get('b', 'im')!.etag });
    });

    it('needs no HEAD: an object in one part costs one request; a cached meta plans every part at once, and a stale one is dropped', async () => {
      const requests = () => server.stats.requests.HEAD! + server.stats.requests.GET!;
      const heads0 = server.stats.requests.HEAD!;
      server.put('b', 'small', randomBytes(1000));
      let r0 = requests();
      await expectExact('s3://b/small', server.get('b', 'small')!.data);
      expect(requests() - r0).toBe(transport === 'direct' ? 1 : 2);
      const first = randomBytes(2 * part);
      server.put('b', 'c', first);
      await expectExact('s3://b/c', first, { cache: true });
      r0 = requests();
      await expectExact('s3://b/c', first, { cache: true });
      expect(requests() - r0).toBe(2); // two parts, no HEAD
      const second = randomBytes(3 * part);
      server.put('b', 'c', second); // the cached ETag and size are now stale
      await expectExact('s3://b/c', second, { cache: true });
      if (transport === 'direct') expect(server.stats.requests.HEAD! - heads0).toBe(0);
    });
  });

  it('the caller\'s storeOptions are never written to: the same options give the same store and the size cache hits', async () => {
    const storeOptions = { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, transport };
    const snapshot = JSON.stringify(storeOptions);
    server.put('b', 'same', randomBytes(1000));
    const first = await storeFor('s3://b/same', storeOptions);
    release(await get('s3://b/same', { storeOptions, engine }));
    expect(JSON.stringify(storeOptions)).toBe(snapshot);
    expect(await storeFor('s3://b/same', storeOptions)).toBe(first);
  });

  describe('abort', () => {
    it('rejects promptly with Aborted, returns the buffer, and the next get works', async () => {
      const data = randomBytes(8 * part);
      server.put('b', 'a', data);
      server.setFaults([{ kind: 'stall', afterBytes: 1000, ms: 60_000 }]);
      const ac = new AbortController();
      const pending = get('s3://b/a', opts({ signal: ac.signal }));
      await until(() => server.stats.inFlight > 0, 'ranges in flight');
      ac.abort(new Error('enough'));
      const err = await pending.catch((e) => e);
      expect(err).toMatchObject({ code: 'Aborted', uri: 's3://b/a' });
      expect(err.cause.message).toBe('enough');
      await until(() => server.stats.inFlight === 0, 'every request closed');
      server.setFaults([]);
      await expectExact('s3://b/a', data);
    });
  });

  describe('limits', () => {
    it('never has more ranges in flight than the global limit, and reaches it (sockets are not the cap)', async () => {
      const limited = new RangeEngine({ partSize: 64 * 1024, concurrency: 100, maxInFlight: 64, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
      const data = randomBytes(64 * 1024 * 40);
      server.put('b', 'l', data);
      server.setFaults([{ kind: 'stall', afterBytes: 0, ms: 300 }]);
      server.stats.peakInFlight = 0;
      const bufs = await Promise.all([1, 2, 3].map(() => get('s3://b/l', opts({ engine: limited }))));
      expect(bufs.every((b) => b.equals(data))).toBe(true);
      bufs.forEach(release);
      expect(server.stats.peakInFlight).toBe(64);
    });

    it('a socket limit below the engine limit throttles silently: the S3 store sizes its agent to the limit', async () => {
      const limited = new RangeEngine({ partSize: 64 * 1024, concurrency: 100, maxInFlight: 64, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
      const narrow = new S3Store({ endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxSockets: 50 });
      server.put('b', 'n', randomBytes(64 * 1024 * 80));
      server.setFaults([{ kind: 'stall', afterBytes: 0, ms: 300 }]);
      server.stats.peakInFlight = 0;
      release(await get('s3://b/n', opts({ engine: limited, store: narrow })));
      expect(server.stats.peakInFlight).toBe(50); // what the SDK's default agent would allow
      expect(store.maxSockets).toBeGreaterThanOrEqual(limited.limiter.limit); // ours by default
    });
  });

  describe('verify', () => {
    it('checks the CRC32C the service keeps, computed per range as bytes land', async () => {
      const data = randomBytes(3 * part + 5);
      server.put('b', 'v', data);
      const stats = await expectExact('s3://b/v', data, { verify: 'require' });
      expect(stats.verified).toBe('crc32c');
    });

    it('checks CRC64NVME where that is all the service keeps (S3\'s default for new objects)', async () => {
      const data = randomBytes(3 * part + 5);
      server.put('b', 'v64', data).serveChecksums = ['crc64nvme'];
      const stats = await expectExact('s3://b/v64', data, { verify: 'require' });
      expect(stats.verified).toBe('crc64nvme');
      server.put('b', 'bad64', data).serveChecksums = ['crc64nvme'];
      server.get('b', 'bad64')!.crc64nvme = Buffer.alloc(8, 1).toString('base64');
      await expect(get('s3://b/bad64', opts({ verify: true }))).rejects.toMatchObject({ code: 'IntegrityError' });
    });

    it('verify: require with no checksum kept is Unsupported; verify: true then skips', async () => {
      const data = randomBytes(10);
      server.put('b', 'none', data).serveChecksums = [];
      await expect(get('s3://b/none', opts({ verify: 'require' }))).rejects.toMatchObject({ code: 'Unsupported' });
      expect((await expectExact('s3://b/none', data, { verify: true })).verified).toBe(false);
    });

    it('a mismatch is an IntegrityError and the buffer goes back', async () => {
      server.put('b', 'bad', randomBytes(2 * part));
      server.get('b', 'bad')!.crc32c = Buffer.from([1, 2, 3, 4]).toString('base64');
      await expect(get('s3://b/bad', opts({ verify: true }))).rejects.toMatchObject({ code: 'IntegrityError' });
    });
  });
});
