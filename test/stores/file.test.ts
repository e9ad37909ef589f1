import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferPool, RangeEngine, defaultPool, get, getRange, release } from '../../src/index.js';
import { storeSuite } from '../support/store-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'rangepool-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const scheme of ['file', 'direct']) {
  storeSuite(`${scheme}://`, () => ({
    uri: (key) => `${scheme}://${dir}/${scheme}/${key}`,
    missingBucketUri: (key) => `${scheme}:///no/such/dir/${key}`,
    storeOptions: {},
  }));
}

describe('direct://', () => {
  it('reads unaligned spans and tails exactly (through an aligned bounce block)', async () => {
    const data = randomBytes(3 * 4096 + 123);
    writeFileSync(join(dir, 'unaligned'), data);
    for (const [offset, length] of [[1, 5000], [4095, 4098], [8192, 4096 + 123], [0, data.length]] as const) {
      const buf = await getRange(`direct://${dir}/unaligned`, offset, length, { cache: false });
      expect(buf.equals(data.subarray(offset, offset + length))).toBe(true);
      release(buf);
    }
  });

  it("takes its bounce block from the caller's pool, so it counts against that pool's cap", async () => {
    const data = randomBytes(3 * 4096 + 123);
    writeFileSync(join(dir, 'bounced'), data);
    const pool = new BufferPool();
    const before = defaultPool().stats().taken;
    const buf = await getRange(`direct://${dir}/bounced`, 1, 5000, { pool, cache: false });
    expect(buf.equals(data.subarray(1, 5001))).toBe(true);
    expect(pool.stats().taken).toBe(2); // the result and the bounce block
    expect(defaultPool().stats().taken).toBe(before);
    pool.release(buf);
  });

  it('is Unsupported on a filesystem that refuses O_DIRECT (sysfs, procfs), whatever the size', async () => {
    for (const path of ['/sys/kernel/mm/transparent_hugepage/enabled', '/proc/self/status']) {
      await expect(get(`direct://${path}`, { cache: false })).rejects.toMatchObject({ code: 'Unsupported', uri: `direct://${path}` });
    }
  });

  it('still works when the result buffer comes from the JS fallback pool (memory not aligned)', async () => {
    const data = randomBytes(2 * 4096 + 9);
    writeFileSync(join(dir, 'js-pool'), data);
    const pool = new BufferPool({ implementation: 'js' });
    const buf = await get(`direct://${dir}/js-pool`, { cache: false, pool });
    expect(buf.equals(data)).toBe(true);
    pool.release(buf);
  });
});

describe.each(['file', 'direct'])('%s:// never mixes versions', (scheme) => {
  const engine = new RangeEngine({ partSize: 64 * 1024, concurrency: 1 });
  const path = join(dir, `${scheme}-changing`);
  const uri = `${scheme}://${path}`;

  it('a file rewritten in place during the download is PreconditionFailed', async () => {
    writeFileSync(path, randomBytes(1 << 20));
    let rewritten = false;
    const onProgress = () => {
      if (!rewritten) writeFileSync(path, randomBytes(1 << 20)); // same size, new bytes
      rewritten = true;
    };
    await expect(get(uri, { engine, onProgress })).rejects.toMatchObject({ code: 'PreconditionFailed', uri });
  });

  it('a file renamed over during the download is PreconditionFailed', async () => {
    writeFileSync(path, randomBytes(1 << 20));
    let replaced = false;
    const onProgress = () => {
      if (!replaced) {
        writeFileSync(`${path}.new`, randomBytes(1 << 20));
        renameSync(`${path}.new`, path);
      }
      replaced = true;
    };
    await expect(get(uri, { engine, onProgress })).rejects.toMatchObject({ code: 'PreconditionFailed', uri });
  });

  it('a file replaced by a larger one comes back whole, never as a prefix (the size cache is not used for files)', async () => {
    writeFileSync(path, randomBytes(100_000));
    release(await get(uri, { engine }));
    const larger = randomBytes(300_000);
    writeFileSync(`${path}.new`, larger);
    renameSync(`${path}.new`, path);
    const buf = await get(uri, { engine });
    expect(buf.equals(larger)).toBe(true);
    release(buf);
  });
});
