// Bad input gets a typed error that names the URI, and leaves the pool exactly as it was.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startObjectServer } from '../testing/object-server/index.js';
import { RangeEngine, RangepoolError, defaultPool, get, getRange, stat, type GetOptions } from '../src/index.js';
import { until } from './support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'rangepool-bad-'));
const file = join(dir, 'ten');
writeFileSync(file, Buffer.alloc(10, 1));
let server: Awaited<ReturnType<typeof startObjectServer>>;
let s3: GetOptions;
let before: ReturnType<ReturnType<typeof defaultPool>['stats']>;

beforeAll(async () => {
  server = await startObjectServer();
  server.put('b', 'k', Buffer.alloc(10));
  s3 = { storeOptions: { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }, cache: false };
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  before = defaultPool().stats();
});
afterEach(async () => {
  await until(() => defaultPool().stats().inUseBytes === before.inUseBytes, 'the pool unchanged');
});

async function expectTyped(p: Promise<unknown>, code: string, uri?: string) {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(RangepoolError);
  expect(err.code).toBe(code);
  if (uri !== undefined) expect(err.uri).toBe(uri);
  expect(err.message).toContain(uri ?? '');
}

describe('bad input', () => {
  it.each([
    ['not a URI', 'InvalidArgument'],
    ['s3:/bucket/key', 'InvalidArgument'],
    ['ftp://host/file', 'InvalidArgument'],
    ['s3:///key', 'InvalidArgument'],
    ['s3://bucket', 'InvalidArgument'],
    ['s3://bucket/', 'InvalidArgument'],
    ['file://relative/path', 'InvalidArgument'],
    ['file:///', 'InvalidArgument'],
  ])('%s → %s', async (uri, code) => {
    await expectTyped(get(uri), code, uri);
  });

  it('a URI that is not a string', async () => {
    await expectTyped(get(42 as unknown as string), 'InvalidArgument');
  });

  it('missing bucket or key on S3 is NotFound', async () => {
    await expectTyped(get('s3://b/missing', s3), 'NotFound', 's3://b/missing');
    await expectTyped(get('s3://nobucket/k', s3), 'NotFound', 's3://nobucket/k');
    await expectTyped(stat('s3://b/missing', s3), 'NotFound', 's3://b/missing');
  });

  it('a missing file is NotFound; a directory is InvalidArgument', async () => {
    await expectTyped(get(`file://${dir}/nope`), 'NotFound', `file://${dir}/nope`);
    await expectTyped(get(`file://${dir}`), 'InvalidArgument', `file://${dir}`);
  });

  it.each([0, -1, NaN, 1.5, Infinity])('partSize %s and concurrency %s are InvalidArgument', async (n) => {
    const uri = `file://${file}`;
    await expectTyped(get(uri, { partSize: n }), 'InvalidArgument', uri);
    await expectTyped(get(uri, { concurrency: n }), 'InvalidArgument', uri);
    expect(() => new RangeEngine({ partSize: n })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('negative offset, bad length and ranges past the end are InvalidArgument', async () => {
    const uri = `file://${file}`;
    await expectTyped(getRange(uri, -1, 2), 'InvalidArgument', uri);
    await expectTyped(getRange(uri, 11), 'InvalidArgument', uri);
    await expectTyped(getRange(uri, 5, 6), 'InvalidArgument', uri);
    await expectTyped(getRange(uri, 0, -3), 'InvalidArgument', uri);
    await expectTyped(getRange(uri, 0.5, 1), 'InvalidArgument', uri);
    expect((await getRange(uri, 10)).length).toBe(0); // exactly at the end: empty, not an error
  });

  it('an aborted signal is Aborted before anything is taken', async () => {
    const uri = `file://${file}`;
    await expectTyped(get(uri, { signal: AbortSignal.abort() }), 'Aborted', uri);
  });

  it('a pool too small for the object is InvalidArgument, not a hang', async () => {
    const { BufferPool } = await import('../src/index.js');
    const pool = new BufferPool({ maxBytes: 4096 });
    writeFileSync(join(dir, 'big'), Buffer.alloc(8192));
    await expectTyped(get(`file://${dir}/big`, { pool }), 'InvalidArgument', `file://${dir}/big`);
  });
});
