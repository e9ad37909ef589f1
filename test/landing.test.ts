// Landing rings (engine/ring.ts): download() to a file lands each request in a ring of small blocks, written
// off the event loop as they fill, instead of a block of the request's size. What only rings have: memory per
// request that does not grow with the part's size, a connection that stops reading while its ring waits for
// the disk, and every failure ending with the pool where it began. (Every other file test runs on rings
// too on this thread, and on per-request blocks in the 'threads' project.)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BufferPool, RangeEngine, download, getObject, release } from '../src/index.js';
import { S3Store } from '../src/stores/s3.js';
import { parseUri } from '../src/uri.js';
import { startObjectServer, type ObjectServer } from '../testing/object-server/index.js';
import { until } from './support/wait.js';

const KiB = 1024;
const MiB = 1 << 20;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const data = randomBytes(32 * MiB + 5);
let server: ObjectServer;
let dir: string;

beforeAll(async () => {
  server = await startObjectServer();
  server.put('b', 'obj', data);
  dir = mkdtempSync(join(tmpdir(), 'rangepool-landing-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.setFaults([]);
  delete process.env.RANGEPOOL_RING_BLOCK;
  delete process.env.RANGEPOOL_RING_BLOCKS;
});

const store = () => new S3Store({ endpoint: server.url, credentials });

describe('landing rings', () => {
  it('128 requests in flight hold 128 rings, not 128 ranges: the pool peaks at requests × ring, whatever the part size', async () => {
    process.env.RANGEPOOL_RING_BLOCK = String(16 * KiB); // rings of 4 × 16 KiB, so that 128 requests need only 32 MiB of object
    // Every response stalls after its first 32 KiB: all 128 ranges are in flight at once, each a ring full.
    server.setFaults([{ kind: 'stall', afterBytes: 32 * KiB, ms: 300, probability: 1, count: 128, match: { key: 'obj' } }]);
    const pool = new BufferPool({ sizeClasses: [64 * KiB, MiB], trimAfterMs: 0 });
    const engine = new RangeEngine({ threads: 0, partSize: 256 * KiB, concurrency: 128 });
    const out = join(dir, 'many.bin');
    const r = await download('s3://b/obj', out, { store: store(), engine, pool });
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(r.stats.connections).toBe(128);
    // A block per range would be 128 × 256 KiB = 32 MiB; rings are 128 × 64 KiB = 8 MiB.
    expect(pool.stats().peakInUseBytes).toBeLessThanOrEqual(128 * 64 * KiB);
    expect(pool.stats().peakInUseBytes).toBeGreaterThan(64 * 64 * KiB);
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
  });

  it('a slow disk: a request stops reading while its ring waits, so bytes in memory never pass its ring; the file is exact', async () => {
    const engine = new RangeEngine({ threads: 0, partSize: 4 * MiB, concurrency: 4 });
    const s = store();
    const loc = parseUri('s3://b/obj');
    const file = Buffer.alloc(data.length);
    let landed = 0;
    let written = 0;
    let most = 0;
    const pool = new BufferPool({ trimAfterMs: 0 });
    const r = await engine.download(s, loc, undefined, {
      pool,
      onProgress: (p) => {
        landed = p.bytes;
        most = Math.max(most, landed - written);
      },
      sink: {
        start: () => {},
        // Each write takes 2-5 ms: far slower than loopback delivers.
        write: async (at, bytes) => {
          await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 3));
          bytes.copy(file, at);
          written += bytes.length;
        },
        forget: () => {},
      },
    });
    expect(file.equals(data)).toBe(true);
    expect(r.stats.connections).toBeLessThanOrEqual(4);
    // Landed and not yet written: at most the four rings (1 MiB each), however far the sockets could run ahead.
    expect(most).toBeLessThanOrEqual(4 * MiB);
    expect(most).toBeGreaterThan(0);
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
  });

  it('time a ring waits for the disk is not the server\'s silence: writes slower than the stall timeout and the rate floor cost no retry', async () => {
    // 100 ms of silence is a stall here, and every write takes 250 ms: the ring (4 blocks) is full most of the time.
    const engine = new RangeEngine({ threads: 0, partSize: 2 * MiB, concurrency: 1, stallTimeoutMs: 100, minBytesPerSecond: 64 * MiB, retry: { retries: 0 } });
    const file = Buffer.alloc(2 * MiB);
    const r = await engine.download(store(), parseUri('s3://b/obj'), undefined, {
      length: 2 * MiB,
      pool: new BufferPool({ trimAfterMs: 0 }),
      sink: {
        start: () => {},
        write: async (at, bytes) => {
          await new Promise((resolve) => setTimeout(resolve, 250));
          bytes.copy(file, at);
        },
        forget: () => {},
      },
    });
    expect(file.equals(data.subarray(0, 2 * MiB))).toBe(true);
    expect(r.stats).toMatchObject({ retries: 0, requests: 1 });
  });

  it('a write that fails stops the download with its error; nothing is written after it, and the pool is back', async () => {
    const engine = new RangeEngine({ threads: 0, partSize: 4 * MiB, concurrency: 4 });
    const pool = new BufferPool({ trimAfterMs: 0 });
    let writes = 0;
    let afterFailure = 0;
    let failed = false;
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const got = engine.download(store(), parseUri('s3://b/obj'), undefined, {
      pool,
      sink: {
        start: () => {},
        write: async () => {
          if (failed) afterFailure++;
          await new Promise((resolve) => setImmediate(resolve));
          if (++writes === 10) {
            failed = true;
            throw full;
          }
        },
        forget: () => {},
      },
    });
    await expect(got).rejects.toBe(full);
    expect(afterFailure).toBe(0);
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
  });

  it('download() from a store without landings (the SDK transport) still lands each request in a block of its size', async () => {
    const pool = new BufferPool({ trimAfterMs: 0 });
    const engine = new RangeEngine({ threads: 0, partSize: 8 * MiB, concurrency: 4 });
    const out = join(dir, 'sdk.bin');
    await download('s3://b/obj', out, { store: new S3Store({ endpoint: server.url, credentials, transport: 'sdk' }), engine, pool });
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(pool.stats().peakInUseBytes).toBeGreaterThanOrEqual(8 * MiB); // a block of a part: no ring there
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
  });
});

describe('the first response is a range like any other', () => {
  it.each([
    ['into memory', false],
    ['to a file (a ring)', true],
  ])('%s: when it stalls while its peers run, it is stopped as a straggler and its rest asked for elsewhere (no stall timeout, no retry)', async (_what, toFile) => {
    // Only the first request stalls, after 256 KiB, until the client gives up; the stall timeout is 3 s.
    // Each connection carries 8 MB/s, so the other ranges run long enough to be its peers.
    server.setFaults([{ kind: 'stall', afterBytes: 256 * KiB, probability: 1, count: 1, match: { key: 'obj' } }]);
    server.setShape({ connectionRate: 8_000_000 });
    onTestFinished(() => server.setShape({}));
    const engine = new RangeEngine({ threads: 0, stallTimeoutMs: 3000 });
    const opts = { store: store(), engine, pool: new BufferPool({ trimAfterMs: 0 }), cache: false } as const;
    const out = join(dir, 'first.bin');
    const { stats } = toFile ? await download('s3://b/obj', out, opts) : await getObject('s3://b/obj', opts).then((r) => (release(r.buffer), r));
    if (toFile) expect(readFileSync(out).equals(data)).toBe(true);
    expect(stats.stragglers).toBeGreaterThanOrEqual(1);
    expect(stats.retries).toBe(0);
  });
});
