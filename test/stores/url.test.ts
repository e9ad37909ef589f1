// https:// and http:// URLs (presigned URLs, public objects, CDNs) through the direct reader: pinned by
// ETag or Last-Modified, redirects followed with the pin kept, servers without range support served whole.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startObjectServer } from '../../testing/object-server/index.js';
import { RangeEngine, defaultPool, getObject, getRange, release, stat, type GetOptions } from '../../src/index.js';
import { partial, startRawServer } from '../support/raw-http-server.js';
import { until } from '../support/wait.js';

const MiB = 1 << 20;
const engine = new RangeEngine({ partSize: MiB, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
const opts = (more: GetOptions = {}): GetOptions => ({ engine, cache: false, ...more });
let objects: Awaited<ReturnType<typeof startObjectServer>>;
let raw: Awaited<ReturnType<typeof startRawServer>>;
let startInUse: number;

beforeAll(async () => {
  objects = await startObjectServer();
  objects.createBucket('pub');
  raw = await startRawServer();
});
afterAll(async () => {
  await objects.close();
  await raw.close();
});
beforeEach(() => {
  objects.setFaults([]);
  raw.requests.length = 0;
  startInUse = defaultPool().stats().inUseBytes;
});
afterEach(async () => {
  await until(() => defaultPool().stats().inUseBytes === startInUse, 'the pool back to where the test started');
});

describe('http(s) URLs', () => {
  it('a URL is fetched as pinned ranges with no HEAD, byte-exact; stat and getRange work', async () => {
    const data = randomBytes(3 * MiB + 3);
    objects.put('pub', 'model.bin', data);
    const heads = objects.stats.requests.HEAD;
    const url = `${objects.url}/pub/model.bin`;
    const obj = await getObject(url, opts());
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats).toMatchObject({ transport: 'direct', ranges: 4, requests: 4 });
    expect(obj.meta.etag).toBe(objects.get('pub', 'model.bin')!.etag);
    release(obj.buffer);
    expect((await stat(url)).size).toBe(data.length);
    const span = await getRange(url, MiB - 1, 10, opts());
    expect(span.equals(data.subarray(MiB - 1, MiB + 9))).toBe(true);
    release(span);
    expect(objects.stats.requests.HEAD).toBe(heads);
  });

  it('an overwrite mid-download is PreconditionFailed (If-Match on the first response\'s ETag)', async () => {
    objects.put('pub', 'moving', randomBytes(4 * MiB));
    objects.setFaults([{ kind: 'overwrite', afterRequests: 1, data: randomBytes(4 * MiB), count: 1 }]);
    await expect(getObject(`${objects.url}/pub/moving`, opts({ concurrency: 1 }))).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('a missing object is NotFound; a URL with credentials in it is InvalidArgument', async () => {
    await expect(getObject(`${objects.url}/pub/none`, opts())).rejects.toMatchObject({ code: 'NotFound' });
    await expect(getObject(`http://user:pw@127.0.0.1:1/x`, opts())).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('redirects are followed (the pin kept), a bounded number of times', async () => {
    const data = randomBytes(2 * MiB + 1);
    objects.put('pub', 'moved', data);
    raw.script((req, s) => s.write(`HTTP/1.1 302 Found\r\nlocation: ${objects.url}/pub/moved\r\ncontent-length: 0\r\n\r\n`));
    const obj = await getObject(`${raw.url}/anything`, opts());
    expect(obj.buffer.equals(data)).toBe(true);
    release(obj.buffer);
    raw.script((req, s) => s.write(`HTTP/1.1 302 Found\r\nlocation: /loop${req.onConnection}\r\ncontent-length: 0\r\n\r\n`));
    await expect(getObject(`${raw.url}/loop`, opts())).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('redirected') });
    expect(raw.requests.filter((r) => r.path.startsWith('/loop')).length).toBe(6);
  });

  it('with only Last-Modified, the object is read in one request: a date proves no version', async () => {
    const versions = [randomBytes(2 * MiB), randomBytes(2 * MiB)];
    let served = 0;
    raw.script((req, s) => s.write(partial(versions[Math.min(served++, 1)]!, req.headers.range, { etag: undefined, 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT' })));
    const obj = await getObject(`${raw.url}/dated`, opts());
    expect(obj.buffer.equals(versions[1]!)).toBe(true); // the first (partial) response was dropped, the second is whole
    expect(obj.stats.ranges).toBe(1);
    expect(raw.requests.map((r) => r.headers.range)).toEqual([`bytes=0-${MiB - 1}`, `bytes=0-${2 * MiB - 1}`]);
    release(obj.buffer);
  });

  it('datePinnedRanges: ranges carry If-Unmodified-Since and a changed date is PreconditionFailed', async () => {
    const data = randomBytes(2 * MiB);
    let served = 0;
    raw.script((req, s) => {
      const date = served++ === 0 ? 'Mon, 02 Nov 2026 10:00:00 GMT' : 'Tue, 03 Nov 2026 10:00:00 GMT';
      s.write(partial(data, req.headers.range, { etag: undefined, 'last-modified': date }));
    });
    await expect(getObject(`${raw.url}/dated`, opts({ concurrency: 1, storeOptions: { datePinnedRanges: true } }))).rejects.toMatchObject({ code: 'PreconditionFailed', message: expect.stringContaining('Last-Modified') });
    expect(raw.requests[1]!.headers['if-unmodified-since']).toBe('Mon, 02 Nov 2026 10:00:00 GMT');
  });

  it('nothing to pin to: one request for the whole object, never ranges', async () => {
    const data = randomBytes(2 * MiB);
    raw.script((req, s) => s.write(partial(data, req.headers.range, { etag: undefined })));
    const whole = await getObject(`${raw.url}/unpinned`, opts({ storeOptions: { datePinnedRanges: true } }));
    expect(whole.buffer.equals(data)).toBe(true);
    expect(raw.requests.at(-1)!.headers.range).toBe(`bytes=0-${2 * MiB - 1}`);
    release(whole.buffer);
  });

  it('a server without range support serves the whole object in the first response', async () => {
    const data = randomBytes(3 * MiB);
    raw.script((_req, s) => s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${data.length}\r\n\r\n`), data])));
    const obj = await getObject(`${raw.url}/static.bin`, opts());
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats.requests).toBe(1);
    release(obj.buffer);
  });
});
