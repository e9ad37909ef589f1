// stream() and download(): objects larger than the pool's cap and than its largest size class, with
// memory held at the read-ahead window, pinned to one version, exact or a typed error.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BufferPool, RangeEngine, download, stream, type RangepoolError } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const dir = mkdtempSync(join(tmpdir(), 'rangepool-stream-'));
const big = randomBytes(24 * MiB + 5);
let server: Awaited<ReturnType<typeof startObjectServer>>;
let storeOptions: { endpoint: string; credentials: typeof credentials };
const engine = new RangeEngine({ partSize: MiB, stallTimeoutMs: 500, retry: { retries: 6, baseDelayMs: 1, maxDelayMs: 5 } });

beforeAll(async () => {
  server = await startObjectServer({ seed: 7 });
  server.put('b', 'big', big);
  storeOptions = { endpoint: server.url, credentials };
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.setFaults([]));

const leftovers = () => readdirSync(dir).filter((f) => f.includes('rangepool-tmp'));

describe('stream()', () => {
  it('an object bigger than the cap and than the largest size class, read slowly, never holds more than the window', async () => {
    const pool = new BufferPool({ sizeClasses: [MiB], maxBytes: 4 * MiB, idlePerClass: 4 });
    const window = 3 * MiB;
    const parts: Buffer[] = [];
    let peak = 0;
    for await (const chunk of stream('s3://b/big', { storeOptions, engine, pool, readAhead: window, verify: 'require' })) {
      peak = Math.max(peak, pool.stats().inUseBytes);
      parts.push(Buffer.from(chunk));
      await new Promise((r) => setTimeout(r, 2)); // a slow consumer: fetching must wait for it
    }
    expect(Buffer.concat(parts).equals(big)).toBe(true);
    expect(peak).toBeLessThanOrEqual(window);
    expect(pool.stats().peakInUseBytes).toBeLessThanOrEqual(window);
    await until(() => pool.stats().inUseBytes === 0, 'every chunk back');
  });

  it('a chunk is released when the loop moves on (its views drop to length 0)', async () => {
    const seen: Buffer[] = [];
    for await (const chunk of stream('s3://b/big', { storeOptions, engine, length: 3 * MiB })) seen.push(chunk);
    expect(seen.map((c) => c.length)).toEqual([0, 0, 0]);
  });

  it('as a Readable, piped into a file, the bytes are exact (chunks handed over, never recycled under a write)', async () => {
    const out = join(dir, 'piped');
    await pipeline(stream('s3://b/big', { storeOptions, engine }), createWriteStream(out));
    expect(readFileSync(out).equals(big)).toBe(true);
  });

  it('breaking out of the loop stops every fetch and returns every chunk', async () => {
    const pool = new BufferPool();
    const gets = () => server.stats.requests.GET ?? 0;
    const before = gets();
    for await (const chunk of stream('s3://b/big', { storeOptions, engine, pool, readAhead: 4 * MiB })) {
      expect(chunk.length).toBe(MiB);
      break;
    }
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
    // Requests sent just before the stop may still reach the server; none may start after it.
    await new Promise((r) => setTimeout(r, 100));
    const after = gets();
    await new Promise((r) => setTimeout(r, 200));
    expect(gets()).toBe(after);
    expect(after - before).toBeLessThan(25); // far from the object's 25 parts
  });

  it('an overwrite mid-stream is PreconditionFailed, and every byte before it is the first version', async () => {
    server.put('b', 'moving', big);
    server.setFaults([{ kind: 'overwrite', afterRequests: 5, data: randomBytes(big.length), match: { key: 'moving' } }]);
    const got: Buffer[] = [];
    const err = await (async () => {
      for await (const chunk of stream('s3://b/moving', { storeOptions, engine, readAhead: 2 * MiB })) got.push(Buffer.from(chunk));
    })().catch((e: RangepoolError) => e);
    expect(err).toMatchObject({ code: 'PreconditionFailed' });
    const prefix = Buffer.concat(got);
    expect(prefix.length).toBeLessThan(big.length);
    expect(prefix.equals(big.subarray(0, prefix.length))).toBe(true);
  });

  it('a checksum mismatch is an error instead of the end', async () => {
    const obj = server.put('b', 'lying', randomBytes(3 * MiB));
    obj.crc32c = Buffer.alloc(4).toString('base64');
    const err = await (async () => {
      for await (const _ of stream('s3://b/lying', { storeOptions, engine, verify: 'require' }));
    })().catch((e: RangepoolError) => e);
    expect(err).toMatchObject({ code: 'IntegrityError' });
  });

  it('an aborted signal ends it as Aborted and returns every chunk', async () => {
    const pool = new BufferPool();
    const ac = new AbortController();
    const err = await (async () => {
      for await (const _ of stream('s3://b/big', { storeOptions, engine, pool, signal: ac.signal })) ac.abort();
    })().catch((e: RangepoolError) => e);
    expect(err).toMatchObject({ code: 'Aborted' });
    await until(() => pool.stats().inUseBytes === 0, 'the pool back');
  });
});

describe('download()', () => {
  it('writes the object exactly, with memory at the window', async () => {
    const pool = new BufferPool({ sizeClasses: [MiB], maxBytes: 4 * MiB });
    const out = join(dir, 'big.bin');
    const r = await download('s3://b/big', out, { storeOptions, engine, pool, readAhead: 2 * MiB, verify: true });
    expect(readFileSync(out).equals(big)).toBe(true);
    expect(r.stats).toMatchObject({ bytes: big.length, ranges: 25, verified: 'crc32c' });
    expect(pool.stats().peakInUseBytes).toBeLessThanOrEqual(2 * MiB);
    expect(leftovers()).toEqual([]);
  });

  it('an abort or a failure leaves neither the file nor its temporary', async () => {
    const ac = new AbortController();
    const out = join(dir, 'aborted.bin');
    const pending = download('s3://b/big', out, { storeOptions, engine, signal: ac.signal, onProgress: (p) => p.bytes > 2 * MiB && ac.abort() });
    await expect(pending).rejects.toMatchObject({ code: 'Aborted' });
    // Its own key: requests the aborted download sent just before the abort may still reach the server.
    server.put('b', 'denied', big);
    server.setFaults([{ kind: 'status', status: 403, match: { key: 'denied' } }]); // every time: a single 403 is signed again and asked once more
    await expect(download('s3://b/denied', join(dir, 'denied.bin'), { storeOptions, engine })).rejects.toMatchObject({ code: 'AccessDenied' });
    server.setFaults([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('aborted') || f.startsWith('denied') || f.includes('rangepool-tmp'))).toEqual([]);
  });

  it('into a directory that does not exist is InvalidArgument: the path given, not the object, is missing', async () => {
    await expect(download('s3://b/big', join(dir, 'no', 'such', 'dir', 'f'), { storeOptions, engine })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('no such directory to write into') });
  });

  it.each([
    ['stream', 0.05],
    ['download', 0.05],
  ])('under injected faults, %s ends exact or with a typed error, and leaves no partial file', async (how, rate) => {
    const faults = [
      { kind: 'status' as const, status: 503, probability: rate },
      { kind: 'reset' as const, afterBytes: 10_000, probability: rate },
      { kind: 'short' as const, afterBytes: 5_000, probability: rate },
      { kind: 'stall' as const, afterBytes: 1_000, ms: 2_000, probability: rate },
    ];
    server.setFaults(faults, 3);
    for (let i = 0; i < 3; i++) {
      const out = join(dir, `faulty-${how}-${i}`);
      try {
        if (how === 'stream') {
          const parts: Buffer[] = [];
          for await (const c of stream('s3://b/big', { storeOptions, engine, readAhead: 4 * MiB })) parts.push(Buffer.from(c));
          expect(Buffer.concat(parts).equals(big)).toBe(true);
        } else {
          await download('s3://b/big', out, { storeOptions, engine, readAhead: 4 * MiB });
          expect(readFileSync(out).equals(big)).toBe(true);
        }
      } catch (e) {
        expect((e as Error).name).toBe('RangepoolError');
        expect(readdirSync(dir)).not.toContain(`faulty-${how}-${i}`);
      }
    }
    expect(Object.values(server.stats.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(leftovers()).toEqual([]);
  });
});
