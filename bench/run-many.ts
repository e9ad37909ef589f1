// One many-objects variant in its own process (or, for the CLI variants, the CLI as the measured
// process): every object under a prefix, `objects` at a time. Prints one JSON line.
// Usage: node --expose-gc --import tsx bench/run-many.ts '{"variant":"getMany-pool","url":...,"prefix":"many/","count":100,"size":...,"objects":8}'
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BufferPool, RangeEngine, getMany, release } from '../src/index.js';
import { root } from '../testing/spawn.js';

export interface ManyVariantOptions {
  variant: string;
  url: string;
  prefix: string;
  count: number;
  size: number;
  objects: number;
  /** Where the CLI variants write (a tmpfs). */
  tmp: string;
}

export interface ManyRun {
  variant: string;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  peakRss: number;
  /** [ms since start, RSS bytes, objects done]. */
  rss: [number, number, number][];
  /** Objects done before RSS counts as warm (twice the objects in flight). */
  warmup: number;
  count: number;
  /** Fresh large allocations (pool blocks made, or result arrays) over the run, and after warm-up. */
  fresh: number;
  freshAfterWarmup: number | undefined;
}

const MiB = 1 << 20;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const o = JSON.parse(process.argv[2] ?? '{}') as ManyVariantOptions;
const warmup = Math.min(o.count, 2 * o.objects); // objects done before the run counts as warm

/** A clock, and every 25 ms the RSS and the objects done so far (`doneOf`, else what done() counted). */
function sampler(rssOf: () => number, doneOf?: () => number) {
  const t0 = performance.now();
  const rss: [number, number, number][] = [];
  let done = 0;
  let peak = 0;
  const sample = () => {
    const r = rssOf();
    if (r > 0) rss.push([Math.round(performance.now() - t0), r, doneOf?.() ?? done]), (peak = Math.max(peak, r));
  };
  const timer = setInterval(sample, 25);
  return {
    done: () => done++,
    count: () => done,
    stop() {
      clearInterval(timer);
      sample();
      return { rss, peak, wallMs: performance.now() - t0 };
    },
  };
}

async function inProcess(): Promise<ManyRun> {
  const cpu0 = process.cpuUsage();
  const s = sampler(() => process.memoryUsage.rss());
  let fresh = 0;
  let freshAtWarm: number | undefined;
  const mark = (freshNow: number) => {
    s.done();
    if (s.count() === warmup) freshAtWarm = freshNow;
  };
  if (o.variant === 'sdk') {
    const { S3Client, GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const { Agent } = await import('node:http');
    const client = new S3Client({ endpoint: o.url, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) }) });
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'bench', Prefix: o.prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    const worker = async () => {
      for (let key = keys.shift(); key; key = keys.shift()) {
        const res = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
        if ((await res.Body!.transformToByteArray()).byteLength !== o.size) throw new Error('short object');
        fresh++; // one result array of the object's size per object
        mark(fresh);
      }
    };
    await Promise.all(Array.from({ length: o.objects }, worker));
  } else {
    const pool = o.variant === 'getMany-pool' ? new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.objects }) : new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: 0 });
    for await (const r of getMany(`s3://bench/${o.prefix}`, { storeOptions: { endpoint: o.url, credentials }, pool, engine: new RangeEngine({ maxInFlight: 256 }), objects: o.objects })) {
      if (!r.buffer) throw r.error ?? new Error('no buffer');
      if (r.buffer.length !== o.size) throw new Error('short object');
      release(r.buffer);
      mark(pool.stats().fresh);
    }
    fresh = pool.stats().fresh;
  }
  const { rss, peak, wallMs } = s.stop();
  const cpu = process.cpuUsage(cpu0);
  return { variant: o.variant, bytes: o.count * o.size, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRss: peak, rss, warmup, count: o.count, fresh, freshAfterWarmup: freshAtWarm === undefined ? undefined : fresh - freshAtWarm };
}

/** The CLI in its own process, sampled from /proc: its RSS, its CPU ticks, and its files as objects done. */
async function cli(): Promise<ManyRun> {
  const out = mkdtempSync(join(o.tmp, 'rangepool-many-'));
  const args = [join(root, 'dist/cli/main.js'), 'get', '--recursive', `s3://bench/${o.prefix}`, '-o', `${out}/`, '--objects', String(o.objects), '-q', '--json', ...(o.variant === 'cli-fresh' ? ['--no-buffer-pool'] : [])];
  const child = spawn(process.execPath, args, { env: { ...process.env, AWS_ENDPOINT_URL: o.url, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const proc = (file: string) => {
    try {
      return readFileSync(`/proc/${child.pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const ticksPerMs = 100 / 1000; // USER_HZ
  let cpuTicks = 0;
  const s = sampler(
    () => {
      const stat = proc('stat').split(') ')[1]?.split(' ');
      if (stat) cpuTicks = Number(stat[11]) + Number(stat[12]); // utime, stime
      return Number(/VmRSS:\s+(\d+)/.exec(proc('status'))?.[1] ?? 0) * 1024;
    },
    // An object is done when its file has its name (the temporary one is renamed at the end).
    () => readdirSync(out).filter((name) => !name.includes('rangepool-tmp')).length,
  );
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const { rss, peak, wallMs } = s.stop();
  rmSync(out, { recursive: true, force: true });
  if (code !== 0) throw new Error(`the CLI exited ${code}`);
  const report = JSON.parse(stdout) as { total: { bytes: number; pool: { fresh: number } } };
  return { variant: o.variant, bytes: report.total.bytes, wallMs, cpuMs: cpuTicks / ticksPerMs, peakRss: peak, rss, warmup, count: o.count, fresh: report.total.pool.fresh, freshAfterWarmup: undefined };
}

console.log(JSON.stringify(o.variant.startsWith('cli') ? await cli() : await inProcess()));
process.exit(0);
