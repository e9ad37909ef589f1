// One library client of the shaped-network benchmark (bench/wan.ts) in its own process: one warm-up
// round (a long-lived process has its pool's pages already), then one measured round. Prints one JSON line.
// Usage: node --import tsx bench/run-wan.ts '{"client":"get","url":...,"keys":[...]}'
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import { RangeEngine, download, get, getMany, getRanges, release } from '../src/index.js';

export interface WanClientOptions {
  /** 'ceiling': get() with 128 ranges of 8 MiB in flight, fixed: what the server gives at most. */
  client: 'get' | 'ceiling' | 'getMany' | 'getRanges' | 'sdk' | 'sdkRanges' | 'download' | 'getManyTo';
  url: string;
  /** s3://bench/KEY for each object ({url} stands for the server's URL). */
  keys: string[];
  /** getRanges: [offset, length] spans. */
  spans?: Array<[number, number]>;
  /** Skip the warm-up round (a long single-stream client needs none). */
  cold?: boolean;
  /** download and getManyTo: the folder the files go to (emptied after each round). */
  dir?: string;
  /** download: with O_DIRECT. */
  direct?: boolean;
}

export interface WanRun {
  wallMs: number;
  cpuMs: number;
  bytes: number;
  /** The engine's findings after the measured round: the limit reached, throttling, stragglers. */
  host?: { peakLimit: number; decreases: number; stragglers: number; firstByteMs: number };
  connections?: number;
  /** The process's peak RSS (warm-up round included). */
  peakRssBytes?: number;
}

const o = JSON.parse(process.argv[2]!) as WanClientOptions;
o.keys = o.keys.map((k) => k.replace('{url}', o.url));
const storeOptions = { endpoint: o.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };

const sdkClient = () =>
  new S3Client({ endpoint: o.url, region: 'us-east-1', forcePathStyle: true, credentials: storeOptions.credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });

async function round(engine: RangeEngine): Promise<{ bytes: number; connections: number }> {
  let bytes = 0;
  let connections = 0;
  if (o.client === 'get' || o.client === 'ceiling') {
    const buffers = await Promise.all(o.keys.map((k) => get(k, { engine, storeOptions, cache: false })));
    for (const b of buffers) {
      bytes += b.length;
      release(b);
    }
  } else if (o.client === 'getMany') {
    for await (const r of getMany(o.keys, { engine, storeOptions, cache: false })) {
      if (r.error) throw r.error;
      bytes += r.buffer!.length;
      connections = Math.max(connections, r.stats.connections);
      release(r.buffer!);
    }
  } else if (o.client === 'download') {
    for (const [i, k] of o.keys.entries()) bytes += (await download(k, join(o.dir!, String(i)), { engine, storeOptions, direct: o.direct })).stats.bytes;
  } else if (o.client === 'getManyTo') {
    for await (const r of getMany(o.keys, { engine, storeOptions, cache: false, to: o.dir })) {
      if (r.error) throw r.error;
      bytes += r.stats.bytes;
    }
  } else if (o.client === 'getRanges') {
    const r = await getRanges(o.keys[0]!, o.spans!, { engine, storeOptions, cache: false });
    bytes = r.buffers.reduce((n, b) => n + b.length, 0);
    r[Symbol.dispose]();
  } else if (o.client === 'sdkRanges') {
    // What a user writes with the SDK alone: one ranged GetObject per span, 16 at a time.
    const client = sdkClient();
    const spans = [...o.spans!];
    const [, , bucket, ...key] = o.keys[0]!.split('/');
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let s = spans.shift(); s; s = spans.shift()) {
          const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key.join('/'), Range: `bytes=${s[0]}-${s[0] + s[1] - 1}` }));
          const got = await res.Body!.transformToByteArray();
          bytes += got.byteLength;
        }
      }),
    );
  } else {
    const client = sdkClient();
    await Promise.all(
      o.keys.map(async (k) => {
        const [, , bucket, ...key] = k.split('/');
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key.join('/') }));
        const got = await res.Body!.transformToByteArray();
        bytes += got.byteLength;
      }),
    );
  }
  if (o.dir) {
    rmSync(o.dir, { recursive: true, force: true });
    mkdirSync(o.dir, { recursive: true });
  }
  return { bytes, connections };
}

if (o.dir) mkdirSync(o.dir, { recursive: true });
const newEngine = () => (o.client === 'ceiling' ? new RangeEngine({ concurrency: 128, maxInFlight: 128, partSize: 8 << 20 }) : new RangeEngine());
if (!o.cold) await round(newEngine());
const engine = newEngine();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const { bytes } = await round(engine);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const h = engine.hostStats()[0];
const out: WanRun = { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes, peakRssBytes: process.resourceUsage().maxRSS * 1024, ...(h ? { host: { peakLimit: h.peakLimit, decreases: h.decreases, stragglers: h.stragglers, firstByteMs: Math.round(h.firstByteMs) } } : {}) };
console.log(JSON.stringify(out));
