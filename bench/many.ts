// The seed's acceptance test: many large objects (100 × 64 MiB) through `rangepool get --recursive` to a
// directory on tmpfs and through getMany() into memory, each with and without the buffer pool, against
// the SDK equivalent (GetObject per object, the same objects in flight). RSS over the run is the chart.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { request } from 'node:http';
import { root, tsArgs } from '../testing/spawn.js';
import type { ManyRun, ManyVariantOptions } from './run-many.js';
import { alternating } from './measure.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

export const MANY_VARIANTS: Record<string, { label: string }> = {
  'cli-pool': { label: 'rangepool get --recursive to tmpfs, buffer pool' },
  'cli-fresh': { label: 'rangepool get --recursive to tmpfs, --no-buffer-pool' },
  'getMany-pool': { label: 'getMany() into memory, buffer pool' },
  'getMany-fresh': { label: 'getMany() into memory, fresh buffers' },
  sdk: { label: 'AWS SDK GetObject + transformToByteArray per object' },
};

export interface ManySummary extends ManyRun {
  throughput: number;
  /** With repeats: how many runs, and the range of their throughput. */
  samples?: number;
  min?: number;
  max?: number;
  cpuPerGiB: number;
  /** Largest distance of an RSS sample from their median, as a fraction of it, while objects are in flight after warm-up. */
  rssSpread: number;
  freshPerMin: number;
}

function send(url: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => res.resume().on('end', () => resolve()));
    req.on('error', reject);
    req.end(body);
  });
}

function runOne(opts: ManyVariantOptions): Promise<ManyRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...tsArgs('bench/run-many.ts', '--expose-gc', '--no-warnings'), JSON.stringify(opts)], { cwd: root, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`variant ${opts.variant} failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ManyRun);
    });
  });
}

function summarize(run: ManyRun): ManySummary {
  const gib = run.bytes / GiB;
  // After warm-up (twice the objects in flight done) and before the last object is done (the wind-down and the process's exit).
  const after = run.rss.filter(([, , done]) => done >= run.warmup && done < run.count).map(([, r]) => r);
  const median = [...after].sort((a, b) => a - b)[Math.floor(after.length / 2)] ?? 0;
  const rssSpread = median ? Math.max(...after.map((r) => Math.abs(r - median))) / median : 0;
  return { ...run, throughput: gib / (run.wallMs / 1000), cpuPerGiB: run.cpuMs / 1000 / gib, rssSpread, freshPerMin: (run.freshAfterWarmup ?? run.fresh) / (run.wallMs / 60_000) };
}

/** The run with the median throughput, for its RSS curve and counts; throughput and CPU as medians. */
function median(runs: ManySummary[]): ManySummary {
  const by = (f: (r: ManySummary) => number) => [...runs].sort((a, b) => f(a) - f(b))[Math.floor(runs.length / 2)]!;
  return { ...by((r) => r.throughput), cpuPerGiB: by((r) => r.cpuPerGiB).cpuPerGiB, samples: runs.length, min: Math.min(...runs.map((r) => r.throughput)), max: Math.max(...runs.map((r) => r.throughput)) };
}

/** Runs every variant `repeats` times (alternating order) against one loopback server holding `count` objects of `size`. */
export async function manyObjects({ count = 100, size = 64 * MiB, objects = 8, repeats = 1, tick = (_: string) => {} } = {}): Promise<Record<string, ManySummary>> {
  const server = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: server.stdout! }).once('line', r))) as { url: string };
    await send(url, 'PUT', '/bench/seed', randomBytes(size));
    await send(url, 'POST', '/_control/replicate', JSON.stringify({ bucket: 'bench', key: 'seed', prefix: 'many/', count }));
    // The server's reference checksums (seconds of BigInt CRC-64 per 64 MiB, shared by the copies): now, not in a measured run.
    await send(url, 'HEAD', '/bench/many/0', undefined, { 'x-amz-checksum-mode': 'ENABLED' });
    const variants = Object.keys(MANY_VARIANTS);
    const runs = await alternating(variants, repeats, async (variant, r) => {
      const run = summarize(await runOne({ variant, url, prefix: 'many/', count, size, objects, tmp: '/dev/shm' }));
      tick(`many objects: ${MANY_VARIANTS[variant]!.label} (repeat ${r + 1})`);
      return run;
    });
    return Object.fromEntries(variants.map((k, i) => [k, median(runs[i]!)]));
  } finally {
    server.kill('SIGTERM');
  }
}

const fmt = (n: number | undefined, d = 2) => (n === undefined ? '–' : n.toFixed(d));

export function manyTable(results: Record<string, ManySummary>, count: number, objects: number): string[] {
  const rows = [
    `### Many objects: ${count} × 64 MiB, ${objects} objects in flight${results.sdk?.samples ? `, medians of ${results.sdk.samples} runs (throughput min–max)` : ''}`,
    '',
    '| variant | GiB/s | CPU s/GiB | peak RSS MiB | RSS spread after warm-up | fresh ≥1 MiB allocations (total / per min after warm-up) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [k, r] of Object.entries(results)) {
    const fresh = r.freshAfterWarmup === undefined ? `${r.fresh} total` : `${r.fresh} / ${fmt(r.freshPerMin, 0)}`;
    const spread = r.samples && r.samples > 1 ? ` (${fmt(r.min)}–${fmt(r.max)})` : '';
    rows.push(`| ${MANY_VARIANTS[k]!.label} | ${fmt(r.throughput)}${spread} | ${fmt(r.cpuPerGiB)} | ${fmt(r.peakRss / MiB, 0)} | ±${fmt(r.rssSpread * 100, 0)} % | ${fresh} |`);
  }
  const { sdk } = results;
  const lines: string[] = [];
  for (const k of ['cli-pool', 'getMany-pool']) {
    const r = results[k];
    if (!r) continue;
    lines.push(`${MANY_VARIANTS[k]!.label}: RSS within ±${fmt(r.rssSpread * 100, 0)} % of its median after warm-up (target ±10 %); ${r.freshAfterWarmup === undefined ? `${r.fresh} blocks made in all for ${count} objects` : `${r.freshAfterWarmup} fresh allocations after warm-up (target 0)`}${sdk ? `; throughput ${fmt(r.throughput / sdk.throughput)}× the SDK equivalent (target ≥ 1.5×)` : ''}`);
  }
  return [...rows, '', ...lines.map((l) => `- ${l}`)];
}
