// Random access, measured: a Parquet file with many row groups and columns, 3 columns of every row group
// read through (a) hyparquet's own asyncBufferFromUrl against a plain http:// URL and (b) rangepool's
// adapter over a handle; and a safetensors file with a few hundred tensors, one rank's 1/8 of them loaded
// with one coalesced read, one getRange() per tensor, and a get() of the same number of bytes in one span.
// Against the loopback object server in its own process; each read measured after one warm-up run.
// Prints requests, bytes moved, GiB/s of useful bytes, wall time and client CPU.
// Usage: npm run bench -- --random-only [--quick]     (or: npx tsx bench/random-access.ts [--quick])
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { asyncBufferFromUrl, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { ParquetWriter, fileWriter, schemaFromColumnData } from 'hyparquet-writer';
import { asyncBuffer } from '../src/formats/parquet.js';
import { SafetensorsFile } from '../src/formats/safetensors.js';
import { RangeEngine, getRange, open, release } from '../src/index.js';
import { prng } from '../testing/prng.js';
import { root, tsArgs } from '../testing/spawn.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

async function put(url: string, key: string, body: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request(`${url}/bench/${key}`, { method: 'PUT' }, (res) => res.resume().on('end', () => resolve()));
    req.on('error', reject);
    req.end(body);
  });
}

/** A Parquet file of about `bytes`: 16 DOUBLE columns of random values, row groups of `groupRows` rows, uncompressed. */
function writeParquet(path: string, bytes: number, groupRows: number): void {
  const columns = 16;
  const rows = Math.floor(bytes / (columns * 8));
  const random = prng(11);
  const group = (n: number) => Array.from({ length: columns }, (_, c) => ({ name: `c${c}`, data: Float64Array.from({ length: n }, () => random()), type: 'DOUBLE' as const }));
  const writer = new ParquetWriter({ writer: fileWriter(path), schema: schemaFromColumnData({ columnData: group(1) }), codec: 'UNCOMPRESSED', statistics: false });
  for (let done = 0; done < rows; done += groupRows) writer.write({ columnData: group(Math.min(groupRows, rows - done)), rowGroupSize: groupRows });
  writer.finish();
}

/** A safetensors file of about `bytes` with `count` F32 tensors of equal size. */
function safetensorsFile(bytes: number, count: number): Buffer {
  const each = Math.floor(bytes / count / 4) * 4;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (let i = 0; i < count; i++) header[`layer.${i}.weight`] = { dtype: 'F32', shape: [each / 4], data_offsets: [i * each, (i + 1) * each] };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.allocUnsafe(each * count);
  const random = prng(12);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
  return Buffer.concat([head, Buffer.from(json), data]);
}

interface Row {
  what: string;
  requests: number;
  bytes: number;
  useful: number;
  wallMs: number;
  cpuMs: number;
}

/** One warm-up run (the pool then holds blocks of the sizes the read needs, as when loading shard after shard), then the measured one. */
async function measure(what: string, useful: number, fn: () => Promise<{ requests: number; bytes: number }>): Promise<Row> {
  await fn();
  await new Promise((r) => setTimeout(r, 50)); // released blocks are back at the next turns
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { requests, bytes } = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { what, requests, bytes, useful, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const table = (rows: Row[], base: Row) => [
  '| read | requests | bytes moved MiB | useful MiB | wall s | useful GiB/s | client CPU s | speed-up |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.what} | ${r.requests} | ${(r.bytes / MiB).toFixed(0)} | ${(r.useful / MiB).toFixed(0)} | ${(r.wallMs / 1000).toFixed(2)} | ${(r.useful / GiB / (r.wallMs / 1000)).toFixed(2)} | ${(r.cpuMs / 1000).toFixed(2)} | ${(base.wallMs / r.wallMs).toFixed(2)}× |`),
];

export async function randomAccess(quick: boolean): Promise<string> {
  const size = quick ? 128 * MiB : GiB;
  const dir = mkdtempSync(join(tmpdir(), 'rangepool-bench-'));
  const server = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: server.stdout }).once('line', r))) as { url: string };
  const storeOptions = { endpoint: url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  const engine = new RangeEngine();
  const out: string[] = [];
  try {
    process.stderr.write('random access: writing the Parquet file\n');
    const path = join(dir, 'table.parquet');
    writeParquet(path, size, 16 * 1024);
    await put(url, 'table.parquet', readFileSync(path));
    const fileSize = statSync(path).size;
    const columns = ['c1', 'c7', 'c12'];
    const onChunk = () => {}; // columns as decoded, no rows assembled: the I/O and decoding, not row objects

    // (a) hyparquet's own reader: one fetch per slice (its plan merges only touching byte ranges of a column).
    let fetches = 0;
    let fetched = 0;
    const counting: typeof fetch = async (input, init) => {
      fetches++;
      const res = await fetch(input, init);
      const body = await res.arrayBuffer();
      fetched += body.byteLength;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const fileA = await asyncBufferFromUrl({ url: `${url}/bench/table.parquet?X-Amz-Signature=presigned-style`, byteLength: fileSize, fetch: counting });
    const metadata = await parquetMetadataAsync(fileA);
    const useful = metadata.row_groups.reduce((n, g) => n + g.columns.filter((c) => columns.includes(c.meta_data!.path_in_schema[0]!)).reduce((m, c) => m + Number(c.meta_data!.total_compressed_size), 0), 0);
    const a = await measure(`a. hyparquet asyncBufferFromUrl (http://), ${metadata.row_groups.length} row groups × 3 of 16 columns`, useful, async () => {
      fetches = 0;
      fetched = 0;
      await parquetRead({ file: fileA, metadata, columns, onChunk });
      return { requests: fetches, bytes: fetched };
    });
    // Opened outside the timing, as (a) is given the size: the stat is the same one request for both.
    await using parquetFile = await open('s3://bench/table.parquet', { storeOptions, engine });
    const b = await measure('b. rangepool open() + rangepool/parquet asyncBuffer (s3://)', useful, async () => {
      const { requests, bytesFetched } = parquetFile.stats;
      await parquetRead({ file: asyncBuffer(parquetFile), metadata, columns, onChunk });
      return { requests: parquetFile.stats.requests - requests, bytes: parquetFile.stats.bytesFetched - bytesFetched };
    });
    out.push(`### Parquet: ${(fileSize / MiB).toFixed(0)} MiB, ${metadata.row_groups.length} row groups of 16 DOUBLE columns, 3 columns read (footer parsed once, outside the timing)`, '', ...table([a, b], a), '');

    process.stderr.write('random access: the safetensors file\n');
    const st = safetensorsFile(size, 320);
    await put(url, 'model.safetensors', st);
    await using h = await open('s3://bench/model.safetensors', { storeOptions, engine });
    const file = await SafetensorsFile.open(h);
    const names = [...file.tensors.keys()].filter((_, i) => i % 8 === 0);
    const slice = names.reduce((n, name) => n + file.tensors.get(name)!.length, 0);
    const infos = names.map((n) => file.tensors.get(n)!);
    const c = await measure(`c. SafetensorsFile.read(): ${names.length} of ${file.tensors.size} tensors (one rank of 8), one coalesced read`, slice, async () => {
      const before = h.stats.requests;
      using t = await file.read(names);
      return { requests: h.stats.requests - before, bytes: Object.values(t.arrays).reduce((n, x) => n + x.byteLength, 0) };
    });
    const d = await measure('d. one getRange() per tensor, all at once', slice, async () => {
      const parts = await Promise.all(infos.map((t) => getRange('s3://bench/model.safetensors', t.offset, t.length, { storeOptions, engine })));
      for (const p of parts) release(p);
      return { requests: infos.reduce((n, t) => n + Math.ceil(t.length / engine.options.partSize), 0), bytes: slice };
    });
    const e = await measure('e. get() of the same number of bytes, one span', slice, async () => {
      const buf = await getRange('s3://bench/model.safetensors', 8, slice, { storeOptions, engine });
      release(buf);
      return { requests: Math.ceil(slice / engine.options.partSize), bytes: slice };
    });
    out.push(`### safetensors: ${(st.length / MiB).toFixed(0)} MiB, ${file.tensors.size} F32 tensors, a 1/8 slice (${(slice / MiB).toFixed(0)} MiB)`, '', ...table([d, c, e], d), '');
    out.push(`Ratios: Parquet (b) vs (a) ${(a.wallMs / b.wallMs).toFixed(2)}× faster with ${b.requests} requests against ${a.requests}; the slice load (c) takes ${(c.wallMs / e.wallMs).toFixed(2)}× the time of a get() of as many bytes (e).`);
    return out.join('\n');
  } finally {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await randomAccess(process.argv.includes('--quick')));
