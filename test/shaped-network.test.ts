// A network shaped like a cloud's (testing/object-server/shaper.ts), and the engine on it: requests in
// flight found by measurement, stragglers asked for again, throttling answered by fewer requests. The
// assertions are on behaviour (how many requests ran at once, what was re-asked, exact bytes, the pool
// back), never on how long anything took, except lower bounds a rate limit guarantees.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startObjectServer, type ShapeOptions } from '../testing/object-server/index.js';
import { RangeEngine, defaultPool, getObject, metaCache, release, type GetOptions } from '../src/index.js';
import { S3Store } from '../src/stores/s3.js';
import { until } from './support/wait.js';

const KiB = 1024;
const MiB = 1 << 20;
let server: Awaited<ReturnType<typeof startObjectServer>>;
let store: S3Store;
let startInUse: number;

beforeAll(async () => {
  server = await startObjectServer({ seed: 5 });
  server.createBucket('b');
  store = new S3Store({ endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
});
afterAll(() => server.close());
beforeEach(() => {
  server.setShape({});
  metaCache.clear();
  startInUse = defaultPool().stats().inUseBytes;
});
afterEach(async () => {
  server.setShape({});
  await until(() => defaultPool().stats().inUseBytes === startInUse, 'the pool back to where the test started');
});

/** A ranged GET of bytes [start, end] of b/key: status, body, and ms to the head and to the end. */
async function ranged(key: string, start: number, end: number): Promise<{ status: number; body: Buffer; headMs: number; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${server.url}/b/${key}`, { headers: { range: `bytes=${start}-${end}` } });
  const headMs = performance.now() - t;
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body, headMs, ms: performance.now() - t };
}

describe('the shaped server', () => {
  const data = randomBytes(512 * KiB);
  beforeAll(() => server.put('b', 'shaped', data));

  it('holds one response to its per-connection rate, with the bytes exact', async () => {
    server.setShape({ connectionRate: 1_000_000 });
    const r = await ranged('shaped', 1000, 1000 + 256 * KiB - 1);
    expect(r.status).toBe(206);
    expect(r.body.equals(data.subarray(1000, 1000 + 256 * KiB))).toBe(true);
    // 262 144 bytes at 1 MB/s, less the two ticks a token bucket may hold: a floor, whatever the machine.
    expect(r.ms).toBeGreaterThanOrEqual(200);
    expect(server.shapeStats().bytes).toBe(256 * KiB);
  });

  it('holds every response together to the aggregate cap', async () => {
    server.setShape({ totalRate: 2_000_000 });
    const t = performance.now();
    const all = await Promise.all([0, 1, 2, 3].map((i) => ranged('shaped', i * 128 * KiB, (i + 1) * 128 * KiB - 1)));
    expect(Buffer.concat(all.map((r) => r.body)).equals(data)).toBe(true);
    expect(performance.now() - t).toBeGreaterThanOrEqual(200); // 524 288 bytes at 2 MB/s
  });

  it('waits firstByteMs before each head, and `factor` times longer for a straggling head', async () => {
    server.setShape({ firstByteMs: 60 });
    expect((await ranged('shaped', 0, 9)).headMs).toBeGreaterThanOrEqual(55);
    server.setShape({ firstByteMs: 30, stragglers: { probability: 1, factor: 5, what: 'head' } });
    expect((await ranged('shaped', 0, 9)).headMs).toBeGreaterThanOrEqual(140);
    expect(server.shapeStats().stragglers).toBe(1);
  });

  it('slows a straggling body by its factor', async () => {
    server.setShape({ connectionRate: 4_000_000, stragglers: { probability: 1, factor: 8, what: 'body' } });
    const r = await ranged('shaped', 0, 128 * KiB - 1);
    expect(r.body.equals(data.subarray(0, 128 * KiB))).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(200); // 131 072 bytes at 500 kB/s
  });

  it('answers 503 SlowDown as drawn from its seed, the same draws on every replay', async () => {
    const codes = async () => {
      server.setShape({ slowDown: 0.3, seed: 42 });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push((await ranged('shaped', 0, 0)).status);
      return out;
    };
    const first = await codes();
    expect(first.filter((c) => c === 503).length).toBeGreaterThan(3);
    expect(first.filter((c) => c === 206).length).toBeGreaterThan(20);
    expect(await codes()).toEqual(first);
    const res = await fetch(`${server.url}/b/shaped`, { headers: { range: 'bytes=0-0' } });
    server.setShape({ slowDown: 1 });
    const refused = await fetch(`${server.url}/b/shaped`, { headers: { range: 'bytes=0-0' } });
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('<Code>SlowDown</Code>');
    await res.arrayBuffer();
  });

  it('refuses requests past maxConcurrent with 503 SlowDown while the others are served', async () => {
    server.setShape({ maxConcurrent: 2, connectionRate: 500_000 });
    const results = await Promise.all([0, 1, 2, 3].map(() => ranged('shaped', 0, 64 * KiB - 1)));
    expect(results.filter((r) => r.status === 206).length).toBe(2);
    expect(results.filter((r) => r.status === 503).length).toBe(2);
    expect(server.shapeStats()).toMatchObject({ refused: 2, peakConcurrent: 2 });
  });
});

describe('the engine on a shaped network', () => {
  const data = randomBytes(48 * MiB + 12345);
  beforeAll(() => server.put('b', 'large', data));

  async function download(shape: ShapeOptions, engine: RangeEngine, more: GetOptions = {}) {
    server.setShape(shape);
    const obj = await getObject('s3://b/large', { store, engine, cache: false, ...more });
    try {
      expect(obj.buffer.equals(data)).toBe(true);
    } finally {
      release(obj.buffer);
    }
    return { stats: obj.stats, server: server.shapeStats(), host: engine.hostStats()[0]! };
  }

  it('opens more requests than its first guess (and than the old 8) while each connection is rate-capped', async () => {
    // 48 parts of 1 MiB at 1 MB/s each: every request added adds throughput.
    const { stats, server: s, host } = await download({ connectionRate: 1_000_000, firstByteMs: 5 }, new RangeEngine({ partSize: MiB }));
    expect(host.peakLimit).toBeGreaterThan(16);
    expect(s.peakConcurrent).toBeGreaterThan(16);
    expect(stats.connections).toBeGreaterThan(16);
    expect(stats.stragglers).toBe(0);
  });

  it('steps down to what a server that refuses more allows, and completes exact', async () => {
    const capped = randomBytes(16 * MiB);
    server.put('b', 'capped', capped);
    const engine = new RangeEngine({ partSize: MiB });
    const limits: number[] = [];
    const watch = setInterval(() => limits.push(engine.hostStats()[0]?.limit ?? Infinity), 5);
    server.setShape({ connectionRate: 2_000_000, maxConcurrent: 6 });
    const obj = await getObject('s3://b/capped', { store, engine, cache: false }).finally(() => clearInterval(watch));
    expect(obj.buffer.equals(capped)).toBe(true);
    release(obj.buffer);
    const { stats } = obj;
    const s = server.shapeStats();
    const host = engine.hostStats()[0]!;
    expect(s.refused).toBeGreaterThan(0);
    expect(stats.throttled).toBeGreaterThan(0);
    expect(host.decreases).toBeGreaterThan(0);
    expect(Math.min(...limits)).toBeLessThanOrEqual(6);
    expect(s.peakConcurrent).toBeLessThanOrEqual(6);
  });

  it('asks again elsewhere for what a straggler still lacks, and completes exact', async () => {
    const engine = new RangeEngine({ partSize: MiB });
    const { stats, server: s } = await download({ connectionRate: 2_000_000, firstByteMs: 10, stragglers: { probability: 0.15, factor: 30 }, seed: 3 }, engine);
    expect(s.stragglers).toBeGreaterThan(0);
    expect(stats.stragglers).toBeGreaterThan(0);
    expect(engine.hostStats()[0]!.stragglers).toBe(stats.stragglers);
    expect(stats.firstByteMs).toBeGreaterThan(0);
  });

  it('honours a concurrency asked for: exactly that many at once, and no straggler re-asked', async () => {
    const small = randomBytes(8 * MiB);
    server.put('b', 'small', small);
    server.setShape({ connectionRate: 8_000_000, stragglers: { probability: 0.3, factor: 4, what: 'body' }, seed: 3 });
    const obj = await getObject('s3://b/small', { store, engine: new RangeEngine({ partSize: 512 * KiB }), cache: false, concurrency: 3 });
    expect(obj.buffer.equals(small)).toBe(true);
    release(obj.buffer);
    expect(server.shapeStats().stragglers).toBeGreaterThan(0);
    expect(server.shapeStats().peakConcurrent).toBe(3);
    expect(obj.stats.connections).toBe(3);
    expect(obj.stats.stragglers).toBe(0);
  });
});
