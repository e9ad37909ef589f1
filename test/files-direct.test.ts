// download({ direct }) and --direct (src/files/direct-io.ts): files written with O_DIRECT are exact whatever
// the parts' sizes and offsets, retries and interruptions; nearly all of their bytes go direct (the rings
// place whole blocks on 4 KiB boundaries); a file system that refuses O_DIRECT is a LocalIO error before any
// request; a misaligned buffer falls back to ordinary writes. Runs where the temporary directory takes
// O_DIRECT (skipped, saying why, elsewhere); the refusal runs on a ramfs of its own where one can be mounted.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ring } from '../src/engine/ring.js';
import { DIRECT_UNIT, directRuns } from '../src/files/direct-io.js';
import { PartFile } from '../src/files/part-file.js';
import type { ObjectMeta } from '../src/stores/store.js';
import { BufferPool, RangeEngine, defaultPool, download, getMany } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { scratchMount } from './support/scratch-mount.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const dir = mkdtempSync(join(tmpdir(), 'rangepool-direct-'));

/** Why O_DIRECT cannot be tried here, or undefined. */
function directRefused(): string | undefined {
  if (constants.O_DIRECT === undefined) return 'no O_DIRECT on this platform';
  try {
    closeSync(openSync(join(dir, 'probe'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600));
    rmSync(join(dir, 'probe'));
    return undefined;
  } catch (e) {
    return `the temporary directory's file system refuses O_DIRECT (${(e as Error).message})`;
  }
}
const refused = directRefused();

describe('the pieces', () => {
  it('directRuns: the bytes before the first 4 KiB boundary and after the last go the ordinary way, the rest direct where memory and file agree', () => {
    const block = Buffer.alloc(256 * 1024);
    expect(directRuns(0, block)).toEqual([{ start: 0, end: block.length, direct: true }]);
    // Placed as a ring places it: 904 bytes into its block for a file offset 904 past a boundary.
    const skewed = block.subarray(904);
    expect(directRuns(5 * DIRECT_UNIT + 904, skewed)).toEqual([
      { start: 0, end: DIRECT_UNIT - 904, direct: false },
      { start: DIRECT_UNIT - 904, end: skewed.length, direct: true },
    ]);
    expect(directRuns(0, block.subarray(0, 3 * DIRECT_UNIT + 10))).toEqual([
      { start: 0, end: 3 * DIRECT_UNIT, direct: true },
      { start: 3 * DIRECT_UNIT, end: 3 * DIRECT_UNIT + 10, direct: false },
    ]);
    // Memory and file out of step, or nothing whole: all the ordinary way.
    expect(directRuns(904, block)).toEqual([{ start: 0, end: block.length, direct: false }]);
    expect(directRuns(10, block.subarray(0, DIRECT_UNIT))).toEqual([{ start: 0, end: DIRECT_UNIT, direct: false }]);
  });

  it('a ring with align places each block so that memory and file agree and full blocks end on a boundary', async () => {
    const writes: Array<{ at: number; offset: number; length: number }> = [];
    const origin = 1000;
    const ring = new Ring(Buffer.alloc(4 * 64 * 1024), 64 * 1024, origin + 5000, async (at, bytes) => void writes.push({ at, offset: bytes.byteOffset, length: bytes.length }), { unit: DIRECT_UNIT, origin });
    const landing = ring.landing(300 * 1024);
    // The next block, once one is free (as a connection waits: the ring calls back when a write has ended).
    const nextRoom = (): Promise<Uint8Array> => new Promise((resolve) => void ((b?: Uint8Array) => b && resolve(b))(landing.next(() => resolve(nextRoom()))));
    for (let left = 300 * 1024; left > 0; ) {
      const room = await nextRoom();
      const n = Math.min(room.length, left);
      ring.landed(n);
      left -= n;
    }
    ring.flush();
    await ring.drain();
    expect(writes.reduce((s, w) => s + w.length, 0)).toBe(300 * 1024);
    for (const w of writes) expect(w.offset % DIRECT_UNIT).toBe((w.at - origin) % DIRECT_UNIT);
    for (const w of writes.slice(0, -1)) expect((w.at + w.length - origin) % DIRECT_UNIT).toBe(0);
    expect(writes[0]!.length).toBe(64 * 1024 - (5000 % DIRECT_UNIT));
  });
});

describe.skipIf(refused)(`download({ direct })${refused ? ` (skipped: ${refused})` : ''}`, () => {
  let server: Awaited<ReturnType<typeof startObjectServer>>;
  const body = randomBytes(9 * MiB + 777);
  const storeOptions = () => ({ endpoint: server.url, credentials });
  beforeAll(async () => {
    server = await startObjectServer({ seed: 7 });
    server.put('b', 'odd', body);
    for (let i = 0; i < 3; i++) server.put('b', `many/o${i}`, body.subarray(i * 1000, i * 1000 + 2 * MiB + i));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exact with parts of odd sizes at odd offsets, nearly every byte through O_DIRECT, the pool back', async () => {
    const before = defaultPool().stats().inUseBytes;
    const path = join(dir, 'odd.bin');
    const r = await download('s3://b/odd', path, { storeOptions: storeOptions(), engine: new RangeEngine({ partSize: MiB + 333 }), offset: 12_345, length: 8 * MiB + 99, direct: true });
    expect(readFileSync(path).equals(body.subarray(12_345, 12_345 + 8 * MiB + 99))).toBe(true);
    // Without the rings' placement only parts that begin on a boundary would go direct: none of these.
    expect(r.directBytes).toBeGreaterThan(0.95 * (8 * MiB));
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
  });

  it('exact through cut responses and their retries (the rest of a range lands from where it stopped)', async () => {
    server.setFaults([{ kind: 'reset', afterBytes: 300_001, probability: 0.3 }], 11);
    try {
      const path = join(dir, 'cut.bin');
      const r = await download('s3://b/odd', path, { storeOptions: storeOptions(), engine: new RangeEngine({ partSize: MiB, retry: { retries: 10, baseDelayMs: 1 } }), direct: true });
      expect(readFileSync(path).equals(body)).toBe(true);
      expect(r.stats.retries).toBeGreaterThan(0);
      expect(r.directBytes).toBeGreaterThan(0.5 * body.length);
    } finally {
      server.setFaults([]);
    }
  });

  it('memory the kernel may not take directly (the JavaScript pool: no page alignment) is written the ordinary way where refused, exact', async () => {
    const path = join(dir, 'unpooled.bin');
    const r = await download('s3://b/odd', path, { storeOptions: storeOptions(), pool: new BufferPool({ implementation: 'js' }), direct: true });
    expect(readFileSync(path).equals(body)).toBe(true);
    expect(r.directBytes).toBeLessThanOrEqual(body.length);
  });

  it('a write the kernel refuses (memory off a page boundary, whatever its offset says) is written the ordinary way, and so is every later one', async () => {
    const target = join(dir, 'refused.bin');
    const part = PartFile.open(target, 'refused', { resume: false, mode: 0o600, pinnable: () => false });
    part.direct();
    part.start({ size: 4 * 64 * 1024 } as ObjectMeta, 4 * 64 * 1024);
    // Small ArrayBuffers come from the C heap: 16-byte aligned, seldom on a page, though their offset is 0.
    const bufs = [0, 1, 2, 3].map(() => {
      const b = Buffer.from(new ArrayBuffer(64 * 1024));
      randomBytes(b.length).copy(b);
      return b;
    });
    for (let i = 0; i < 4; i++) await part.write(i * 64 * 1024, bufs[i]!);
    expect(part.directBytes).toBeLessThan(4 * 64 * 1024);
    await part.commit(target, false);
    expect(readFileSync(target).equals(Buffer.concat(bufs))).toBe(true);
  });

  it('getMany({ to, direct }): every object exact', async () => {
    const out = join(dir, 'many');
    for await (const r of getMany('s3://b/many/', { storeOptions: storeOptions(), to: out, direct: true })) expect(r.error).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(readFileSync(join(out, `o${i}`)).equals(body.subarray(i * 1000, i * 1000 + 2 * MiB + i))).toBe(true);
  });

  it('rangepool get --direct: the summary says how much went direct; with -o - it is a usage error', async () => {
    const env = { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [cli, ...args], { env, encoding: 'buffer', maxBuffer: 64 * MiB }, (e, stdout, stderr) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout: stdout.toString(), stderr: stderr.toString() }),
        ),
      );
    const path = join(dir, 'cli.bin');
    const r = await run(['get', 's3://b/odd', '-o', path, '--direct', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/MiB through O_DIRECT\)/);
    expect(readFileSync(path).equals(body)).toBe(true);
    const j = await run(['get', 's3://b/odd', '-o', join(dir, 'cli2.bin'), '--direct', '--json']);
    expect(JSON.parse(j.stdout).directBytes).toBeGreaterThan(0.9 * body.length);
    const s = await run(['get', 's3://b/odd', '-o', '-', '--direct']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--direct writes files: not with -o -/);
    expect(s.stdout).toBe('');
  });
});

const ramfsMount = constants.O_DIRECT === undefined ? { at: '', cannot: 'no O_DIRECT on this platform', unmount: () => {} } : scratchMount('ramfs', 'a ramfs');
const noRamfs = ramfsMount.cannot;
const ramfs = ramfsMount.at;

describe.skipIf(noRamfs)(`a file system that refuses O_DIRECT${noRamfs ? ` (skipped: ${noRamfs})` : ''}`, () => {
  let server: Awaited<ReturnType<typeof startObjectServer>>;
  beforeAll(async () => {
    server = await startObjectServer();
    server.put('b', 'k', randomBytes(MiB));
  });
  afterAll(async () => {
    await server?.close();
    ramfsMount.unmount();
  });

  it('LocalIO naming the path before any request; nothing left behind; without direct the same file is written', async () => {
    const before = defaultPool().stats().inUseBytes;
    const gets = server.stats.requests.GET;
    const path = join(ramfs, 'k.bin');
    const err = await download('s3://b/k', path, { storeOptions: { endpoint: server.url, credentials }, direct: true }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'LocalIO', message: expect.stringMatching(/does not take direct I\/O \(O_DIRECT\), run without it: .*k\.bin/) });
    expect(server.stats.requests.GET).toBe(gets);
    expect(readdirSync(ramfs)).toEqual([]);
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
    await download('s3://b/k', path, { storeOptions: { endpoint: server.url, credentials } });
    expect(readdirSync(ramfs)).toEqual(['k.bin']);
  });
});
