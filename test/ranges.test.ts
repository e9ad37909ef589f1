// Random access: getRanges() (coalesced spans of one version), open() (a pinned handle with a small
// cache), and the Parquet and safetensors adapters over them, against the loopback server on both
// transports, with the pool back where it started after every test.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { coalesce } from '../src/engine/coalesce.js';
import { asyncBuffer } from '../src/formats/parquet.js';
import { MAX_HEADER_BYTES, SafetensorsFile } from '../src/formats/safetensors.js';
import { RangeEngine, defaultPool, getRanges, metaCache, open, type Span } from '../src/index.js';
import { S3Store } from '../src/stores/s3.js';
import type { Transport } from '../src/stores/store.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
let server: Awaited<ReturnType<typeof startObjectServer>>;
const stores = {} as Record<Transport, S3Store>;
const engine = new RangeEngine({ partSize: MiB, concurrency: 4, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
const data = randomBytes(8 * MiB + 123);
let startInUse: number;

beforeAll(async () => {
  server = await startObjectServer({ seed: 5 });
  server.createBucket('b');
  server.put('b', 'obj', data);
  for (const transport of ['direct', 'sdk'] as const) {
    stores[transport] = new S3Store({ endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, transport });
  }
});
afterAll(() => server.close());
beforeEach(() => {
  server.setFaults([]);
  server.put('b', 'obj', data);
  metaCache.clear();
  startInUse = defaultPool().stats().inUseBytes;
});
afterEach(async () => {
  await until(() => defaultPool().stats().inUseBytes === startInUse, 'the pool back to where the test started');
});

const gets = (): number => server.stats.requests.GET ?? 0;

describe('coalesce', () => {
  it('merges spans whose gap is at most the threshold, not above; overlapping, touching and out-of-order spans; ignores empty ones', () => {
    const gap = 100;
    expect(coalesce([[0, 10], [110, 10]], gap).merged.map((m) => [m.start, m.length])).toEqual([[0, 120]]); // gap 100: at
    expect(coalesce([[0, 10], [109, 10]], gap).merged.map((m) => [m.start, m.length])).toEqual([[0, 119]]); // below
    expect(coalesce([[0, 10], [111, 10]], gap).merged.map((m) => [m.start, m.length])).toEqual([[0, 10], [111, 10]]); // above
    const { merged, at } = coalesce([[500, 10], [0, 50], [20, 10], [50, 5], [300, 0]], 0);
    expect(merged.map((m) => [m.start, m.length])).toEqual([[0, 55], [500, 10]]);
    // Each span's place: inside its merged span; the second merged span keeps the object offset modulo 8.
    expect(at).toEqual([merged[1]!.at, 0, 20, 50, 0]);
    expect(merged[1]!.at % 8).toBe(500 % 8);
    expect(merged[1]!.at).toBeGreaterThanOrEqual(55);
  });

  it('lays every span out so that its bytes land where the view says (random spans, against slices)', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 200; round++) {
      const spans: Span[] = Array.from({ length: 1 + rand(12) }, () => [rand(5000), rand(300)] as const);
      const { merged, at, size } = coalesce(spans, rand(400));
      const out = Buffer.alloc(size);
      const src = Buffer.from(Array.from({ length: 6000 }, (_, i) => i & 255));
      for (const m of merged) src.copy(out, m.at, m.start, m.start + m.length);
      spans.forEach(([o, l], i) => expect(out.subarray(at[i]!, at[i]! + l).equals(src.subarray(o, o + l))).toBe(true));
      for (let i = 1; i < merged.length; i++) expect(merged[i]!.start).toBeGreaterThan(merged[i - 1]!.start + merged[i - 1]!.length);
    }
  });
});

describe.each(['direct', 'sdk'] as const)('getRanges (%s)', (transport) => {
  const opts = () => ({ store: stores[transport], engine, cache: false });

  it('returns exact bytes per span, in the order asked, over one pooled block, released together', async () => {
    const spans: Span[] = [[5 * MiB, 1000], [0, 10], [3 * MiB + 7, 2 * MiB], [20, 0], [5 * MiB + 500, 1000], [data.length - 1, 1]];
    const r = await getRanges('s3://b/obj', spans, opts());
    spans.forEach(([o, l], i) => expect(r.buffers[i]!.equals(data.subarray(o, o + l))).toBe(true));
    expect(new Set(r.buffers.filter((b) => b.length > 0).map((b) => b.buffer)).size).toBe(1);
    expect(defaultPool().stats().inUseBytes).toBeGreaterThan(startInUse);
    r.release();
    expect(r.buffers.every((b) => b.length === 0)).toBe(true);
  });

  it('merges spans closer than coalesce into one request, and not those farther apart', async () => {
    let before = gets();
    using near = await getRanges('s3://b/obj', [[0, 100], [100 + 4096, 100], [100 + 8192, 100]], { ...opts(), coalesce: 4096 });
    expect(near.stats!.requests).toBe(1);
    expect(gets() - before).toBe(1); // the server's count (the stat is a HEAD)
    before = gets();
    using far = await getRanges('s3://b/obj', [[0, 100], [100 + 4097, 100], [200 + 8194, 100]], { ...opts(), coalesce: 4096 });
    expect(far.stats!.requests).toBe(3);
    expect(gets() - before).toBe(3);
  });

  it('splits a merged span larger than a part into parts, as get() does', async () => {
    using r = await getRanges('s3://b/obj', [[10, 3 * MiB], [3 * MiB + 20, 100]], opts());
    expect(r.stats!.requests).toBe(4); // 3 MiB + 110 bytes in parts of 1 MiB
    expect(r.buffers[0]!.equals(data.subarray(10, 10 + 3 * MiB))).toBe(true);
  });

  it('a span past the end, or a malformed one, is InvalidArgument, and the pool is as it was', async () => {
    await expect(getRanges('s3://b/obj', [[0, 10], [data.length - 5, 6]], opts())).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('ranges[1]') });
    await expect(getRanges('s3://b/obj', [[-1, 10]], opts())).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(getRanges('s3://b/obj', [[0, 1.5]], opts())).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(getRanges('s3://b/obj', [[0]] as unknown as Span[], opts())).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(getRanges('s3://b/obj', [[0, 10]], { ...opts(), coalesce: -1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('only empty spans cost no request for bytes', async () => {
    using r = await getRanges('s3://b/obj', [[0, 0], [data.length, 0]], opts());
    expect(r.buffers.map((b) => b.length)).toEqual([0, 0]);
    expect(r.stats).toBeUndefined();
  });

  it('an object overwritten between its spans is PreconditionFailed, never a mix', async () => {
    server.setFaults([{ kind: 'overwrite', afterRequests: 1, data: randomBytes(data.length) }]);
    await expect(getRanges('s3://b/obj', [[0, 100], [4 * MiB, 100], [7 * MiB, 100]], { ...opts(), coalesce: 0 })).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('an abort mid-way rejects with Aborted and returns the block', async () => {
    server.setFaults([{ kind: 'stall', afterBytes: 10, ms: 60_000 }]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(getRanges('s3://b/obj', [[0, 100], [4 * MiB, 100]], { ...opts(), coalesce: 0, signal: ac.signal })).rejects.toMatchObject({ code: 'Aborted' });
  });
});

describe.each(['direct', 'sdk'] as const)('open (%s)', (transport) => {
  const opts = () => ({ store: stores[transport], engine });

  it('says what it opened, reads pinned bytes, and serves small reads near each other from one read-ahead', async () => {
    await using h = await open('s3://b/obj', { ...opts(), readAhead: 64 * 1024 });
    expect(h.size).toBe(data.length);
    expect(h.etag).toBe(server.get('b', 'obj')!.etag);
    // A footer parser's reads: the last 8 bytes, then the metadata before them: one request for both.
    const last = await h.read(data.length - 8, 8);
    const meta = await h.read(data.length - 8 - 4000, 4000);
    expect(last.equals(data.subarray(data.length - 8))).toBe(true);
    expect(meta.equals(data.subarray(data.length - 4008, data.length - 8))).toBe(true);
    expect(h.stats).toMatchObject({ reads: 2, cacheHits: 1, requests: 1 });
    // A large read bypasses the cache; readInto fills the caller's buffer.
    const big = await h.read(MiB, 2 * MiB);
    expect(big.equals(data.subarray(MiB, 3 * MiB))).toBe(true);
    const into = Buffer.alloc(300_000);
    await h.readInto(into, 12345);
    expect(into.equals(data.subarray(12345, 12345 + 300_000))).toBe(true);
    for (const b of [last, meta, big]) defaultPool().release(b);
  });

  it('a read after the object changed is PreconditionFailed (the version open() saw, not the new one)', async () => {
    await using h = await open('s3://b/obj', opts());
    server.put('b', 'obj', randomBytes(data.length));
    await expect(h.read(0, 2 * MiB)).rejects.toMatchObject({ code: 'PreconditionFailed' });
    await expect(h.readRanges([[0, 10], [5 * MiB, 10]], { coalesce: 0 })).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('reads past the end are InvalidArgument, and a closed handle refuses reads', async () => {
    const h = await open('s3://b/obj', opts());
    await expect(h.read(data.length - 1, 2)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await h.close();
    await expect(h.read(0, 1)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('closed') });
  });
});

describe('hyparquet over rangepool', () => {
  const rows = 20_000;
  const columnData = [
    { name: 'id', data: Array.from({ length: rows }, (_, i) => i), type: 'INT32' as const },
    { name: 'name', data: Array.from({ length: rows }, (_, i) => `row-${i}-${'x'.repeat(i % 17)}`), type: 'STRING' as const },
    { name: 'score', data: Array.from({ length: rows }, (_, i) => i / 7), type: 'DOUBLE' as const },
    { name: 'flag', data: Array.from({ length: rows }, (_, i) => i % 3 === 0), type: 'BOOLEAN' as const },
  ];
  const file = Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 2000 }));
  const dir = mkdtempSync(join(tmpdir(), 'rangepool-parquet-'));
  const path = join(dir, 'rows.parquet');
  writeFileSync(path, file);

  it.each(['s3-direct', 's3-sdk', 'file'])('reads a file hyparquet-writer wrote exactly as hyparquet reads it from disk (%s)', async (where) => {
    server.put('b', 'rows.parquet', file);
    const fromDisk = await parquetReadObjects({ file: await asyncBufferFromFile(path), columns: ['id', 'name', 'score'], rowStart: 1500, rowEnd: 9500 });
    const uri = where === 'file' ? `file://${path}` : 's3://b/rows.parquet';
    const store = where === 'file' ? undefined : stores[where === 's3-direct' ? 'direct' : 'sdk'];
    await using h = await open(uri, { store, engine });
    const ours = await parquetReadObjects({ file: asyncBuffer(h), columns: ['id', 'name', 'score'], rowStart: 1500, rowEnd: 9500 });
    expect(ours.length).toBe(8000);
    expect(ours).toEqual(fromDisk);
    expect(h.stats.requests).toBeLessThanOrEqual(h.stats.reads);
  });

  it('slices asked for in one turn are fetched as one coalesced request, each its own exact ArrayBuffer', async () => {
    await using h = await open('s3://b/obj', { store: stores.direct, engine });
    const file = asyncBuffer(h);
    expect(file.byteLength).toBe(data.length);
    const spans = [[600_000, 605_000], [10, 2000], [200_000, 300_000]] as const; // gaps under 1 MiB, all in one part
    const got = await Promise.all(spans.map(([a, b]) => file.slice(a, b)));
    spans.forEach(([a, b], i) => expect(Buffer.from(got[i]!).equals(data.subarray(a, b))).toBe(true));
    expect(h.stats).toMatchObject({ reads: 1, requests: 1 });
    // Alone, a slice is the pooled block itself; out of bounds is InvalidArgument.
    expect(Buffer.from(await file.slice(data.length - 10)).equals(data.subarray(data.length - 10))).toBe(true);
    await expect(file.slice(data.length - 10, data.length + 1)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('safetensors', () => {
  const f32 = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5);
  const i64 = BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i) - 30n);
  const u8 = Uint8Array.from({ length: 77 }, (_, i) => i);
  const bf16 = Uint16Array.from({ length: 50 }, (_, i) => i * 3);

  /** A safetensors file: the header (padded to 8 bytes, as writers do), then the tensors' bytes in order. */
  function build(tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>, metadata?: Record<string, string>, pad = true) {
    const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
    let offset = 0;
    const parts: Uint8Array[] = [];
    for (const [name, t] of Object.entries(tensors)) {
      header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
      parts.push(t.bytes);
      offset += t.bytes.length;
    }
    let json = JSON.stringify(header);
    if (pad) json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, Buffer.from(json), ...parts]);
  }
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const good = build(
    {
      embed: { dtype: 'F32', shape: [10, 100], bytes: bytesOf(f32) },
      pos: { dtype: 'I64', shape: [64], bytes: bytesOf(i64) },
      raw: { dtype: 'U8', shape: [7, 11], bytes: u8 },
      half: { dtype: 'BF16', shape: [5, 10], bytes: bytesOf(bf16) },
    },
    { format: 'pt' },
  );

  it('parses the header and reads the tensors asked for as typed arrays over pooled memory', async () => {
    server.put('b', 'model.safetensors', good);
    await using h = await open('s3://b/model.safetensors', { store: stores.direct, engine });
    const st = await SafetensorsFile.open(h);
    expect([...st.tensors.keys()]).toEqual(['embed', 'pos', 'raw', 'half']);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.get('pos')).toMatchObject({ dtype: 'I64', shape: [64] });
    using t = await st.read(['half', 'embed', 'pos']);
    expect(t.arrays.embed).toBeInstanceOf(Float32Array);
    expect([...(t.arrays.embed as Float32Array)]).toEqual([...f32]);
    expect([...(t.arrays.pos as BigInt64Array)]).toEqual([...i64]);
    expect([...(t.arrays.half as Uint16Array)]).toEqual([...bf16]);
    await expect(st.read(['nope'])).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('a file whose data is not aligned still reads right (copied where a view cannot be)', async () => {
    server.put('b', 'odd.safetensors', build({ a: { dtype: 'U8', shape: [3], bytes: Uint8Array.of(1, 2, 3) }, b: { dtype: 'F32', shape: [4], bytes: bytesOf(Float32Array.of(1, 2, 3, 4)) } }, undefined, false));
    await using h = await open('s3://b/odd.safetensors', { store: stores.direct, engine });
    using t = await (await SafetensorsFile.open(h)).read(['b']);
    expect([...(t.arrays.b as Float32Array)]).toEqual([1, 2, 3, 4]);
  });

  const header = (json: string, total = 0) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    return Buffer.concat([len, Buffer.from(json), Buffer.alloc(total)]);
  };
  const lengthOnly = (n: bigint) => {
    const b = Buffer.alloc(64);
    b.writeBigUInt64LE(n);
    return b;
  };
  it.each([
    ['shorter than 8 bytes', Buffer.from([1, 2, 3])],
    ['a header length past the file', lengthOnly(1000n)],
    ['a header length past the bound', lengthOnly(BigInt(MAX_HEADER_BYTES) + 1n)],
    ['a header length of 2^64 - 1', lengthOnly(2n ** 64n - 1n)],
    ['not JSON', header('{"a": nope}')],
    ['not UTF-8', Buffer.concat([lengthOnly(4n).subarray(0, 8), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])])],
    ['a JSON array', header('[1,2]')],
    ['an unknown dtype', header('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', 16)],
    ['a negative dimension', header('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', 1)],
    ['offsets backwards', header('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', 1)],
    ['offsets past the file', header('{"a":{"dtype":"U8","shape":[100],"data_offsets":[0,100]}}', 10)],
    ['bytes that do not match the shape', header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4)],
    ['a shape whose size overflows', header('{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', 8)],
    ['metadata that is not strings', header('{"__metadata__":{"a":1}}')],
  ])('a hostile header (%s) is IntegrityError, and nothing leaks', async (_what, bytes) => {
    server.put('b', 'bad.safetensors', bytes);
    await using h = await open('s3://b/bad.safetensors', { store: stores.direct, engine });
    await expect(SafetensorsFile.open(h)).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringContaining('not a valid safetensors header') });
  });
});
