// The bandwidth cap (maxBytesPerSecond, --limit-rate): its arithmetic on a clock of the test's own (no
// timing on the machine's), shared across threads through its memory, and what a capped download does
// against the object server on every plane (the calling thread here; range threads in the threads project;
// the SDK transport). How closely it holds in seconds is measured, not asserted: bench/rate-cap.ts.
import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RangeEngine, getObject, getMany, release } from '../src/index.js';
import { RateLimit } from '../src/engine/rate-limit.js';
import { startObjectServer } from '../testing/object-server/index.js';

const MiB = 1 << 20;
let server: Awaited<ReturnType<typeof startObjectServer>>;
const data = randomBytes(3 * MiB + 5);

beforeAll(async () => {
  server = await startObjectServer({ seed: 38 });
  server.put('b', 'o', data);
  for (let i = 0; i < 3; i++) server.put('b', `many/${i}`, data);
});
afterAll(() => server.close());

describe('RateLimit (a GCRA on a clock of its own)', () => {
  it('lets a burst of 200 ms of bytes through, then asks each read to wait as long as the rate needs', () => {
    let t = 0n;
    const limit = new RateLimit(1_000_000, new SharedArrayBuffer(8), () => t); // 1 MB/s, time in µs
    expect(limit.take(100_000)).toBe(0); // 100 ms of bytes: within the burst
    expect(limit.take(100_000)).toBe(0); // 200 ms ahead: still within it
    expect(limit.take(100_000)).toBe(100); // 300 ms ahead: wait 100 ms
    t += 300_000n; // the clock catches up
    expect(limit.take(200_000)).toBe(0);
    t += 10_000_000n; // an idle spell earns no credit beyond the burst
    expect(limit.take(300_000)).toBe(100);
    expect(limit.maxRead).toBe(125_000);
  });

  it('is one budget across instances over the same memory, as range threads share it', async () => {
    const shared = new SharedArrayBuffer(8);
    const t = 0n;
    const a = new RateLimit(1_000_000, shared, () => t);
    const b = new RateLimit(1_000_000, shared, () => t);
    a.take(150_000);
    expect(b.take(100_000)).toBe(50); // b pays after a: 250 ms ahead
    // And from a worker thread, on the real clock: its bytes move the same shared time.
    const before = Atomics.load(new BigInt64Array(shared), 0);
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const tat = new BigInt64Array(workerData);
       Atomics.store(tat, 0, Atomics.load(tat, 0) + 1000000n); // a second's worth at 1 MB/s, as take() would
       parentPort.postMessage('done');`,
      { eval: true, workerData: shared },
    );
    await new Promise((r) => worker.once('message', r));
    await worker.terminate();
    expect(Atomics.load(new BigInt64Array(shared), 0) - before).toBe(1_000_000n);
  });

  it('refuses a cap that is not a rate of at least 1 KiB/s', () => {
    for (const bad of [-1, 512, Number.NaN, Infinity]) expect(() => new RangeEngine({ maxBytesPerSecond: bad })).toThrow(/maxBytesPerSecond/);
  });
});

describe('a capped download', () => {
  const storeOptions = (transport: 'direct' | 'sdk') => ({ endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, transport });

  it.each(['direct', 'sdk'] as const)('is exact, with no more requests in flight than the cap gives a share to (%s)', async (transport) => {
    // 1 MiB/s: two requests of the three 1 MiB parts at once, at most.
    const engine = new RangeEngine({ maxBytesPerSecond: MiB, partSize: MiB, concurrency: 3 });
    const obj = await getObject('s3://b/o', { engine, storeOptions: storeOptions(transport), cache: false });
    expect(obj.buffer.equals(data)).toBe(true);
    expect(obj.stats.connections).toBeLessThanOrEqual(2);
    release(obj.buffer);
  });

  it("is one cap across getMany's objects (one engine): each exact", async () => {
    const engine = new RangeEngine({ maxBytesPerSecond: 4 * MiB, partSize: MiB });
    for await (const r of getMany('s3://b/many/', { engine, storeOptions: storeOptions('direct'), objects: 3 })) {
      expect(r.error).toBeUndefined();
      expect(r.buffer!.equals(data)).toBe(true);
      release(r.buffer!);
    }
  });
});

describe('a capped download over HTTPS', () => {
  let tlsServer: Awaited<ReturnType<typeof startObjectServer>>;
  let ca: string;
  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
    ca = pems.cert;
    tlsServer = await startObjectServer({ tls: { key: pems.private, cert: pems.cert } });
    tlsServer.put('b', 'o', data);
  });
  afterAll(() => tlsServer?.close());

  // A read stopped by the cap while the native reader held a destination, whose bytes came anyway: the
  // reader stayed stopped and the download hung at its next destination (on either native path).
  it('is exact (the reader stopped by the cap reads again)', async () => {
    const engine = new RangeEngine({ maxBytesPerSecond: MiB, partSize: MiB, concurrency: 3 });
    const obj = await getObject('s3://b/o', { engine, storeOptions: { endpoint: tlsServer.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, tls: { ca } }, cache: false });
    expect(obj.buffer.equals(data)).toBe(true);
    release(obj.buffer);
  });
});
