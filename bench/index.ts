// `npm run bench`: the seed's scenario (32 concurrent downloads of 64 MiB) on the loopback object server,
// which runs in its own process so the client's CPU is measured apart. Variants a–f alternate across
// repeats; the table shows medians. Then against nginx over HTTPS and HTTP, with the peers users would
// pick instead, library and command line (bench/against-nginx.ts). Full runs also sweep part size ×
// concurrency, compare against the Azure and GCS SDKs on their emulators, and write bench/results/
// (Markdown, SVG chart, the tables of docs/benchmarks.md).
// Then many objects (100 × 64 MiB: the CLI to tmpfs and getMany, with and without the pool, vs the SDK).
// The pool's own policy (large blocks, retention, trim, prefault) with --pool-only (bench/pool-policy.ts);
// random access (Parquet through hyparquet, a safetensors slice) with --random-only (bench/random-access.ts).
// The shaped network (a cloud's per-connection rate, first-byte delay, stragglers, SlowDown; bench/wan.ts)
// alone with --wan (--wan-group SlowDown: the groups whose name holds that), and in every full run.
// Files on that network (one 1 GiB object to tmpfs and to disk, 1,000 small objects; bench/wan.ts) with --files.
// Usage: npm run bench [-- --quick] [--wan] [--files] [--repeats N] [--variants abcdef] [--no-nginx] [--no-sweep] [--no-clouds] [--no-many] [--sweep-only] [--many-only] [--pool-only] [--random-only] [--nginx-only] [--threads-only [--thread-points 0,1,2] [--nginx-workers N]]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { RangeEngine } from '../src/index.js';
import { root, tsArgs } from '../testing/spawn.js';
import { VARIANTS } from './variants.js';
import { alternating, median, runVariant, type Run } from './measure.js';
import { chartSvg } from './chart.js';
import { cloudComparisons } from './clouds.js';
import { MANY_VARIANTS, manyObjects, manyTable, type ManySummary } from './many.js';
import { poolPolicy } from './pool-policy.js';
import { randomAccess } from './random-access.js';
import { againstNginx, nginxRuns, scalingRuns, threadScaling } from './against-nginx.js';
import { shapedNetwork, wanRuns } from './wan.js';

type Summary = ReturnType<typeof summarize>;
type Results = Record<string, Summary>;
interface Server {
  url: string;
  stop: () => void;
}
interface Bar {
  tick: (what: string) => void;
  stop: () => void;
}

const MiB = 1 << 20;
const GiB = 1 << 30;
const here = new URL('.', import.meta.url);
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    variants: { type: 'string', default: 'abcdef' },
    nginx: { type: 'boolean', default: true },
    'nginx-only': { type: 'boolean', default: false },
    'threads-only': { type: 'boolean', default: false },
    'thread-points': { type: 'string', default: '0,1,2' },
    'nginx-workers': { type: 'string', default: '1' },
    sweep: { type: 'boolean', default: true },
    'sweep-only': { type: 'boolean', default: false },
    many: { type: 'boolean', default: true },
    'many-only': { type: 'boolean', default: false },
    'pool-only': { type: 'boolean', default: false },
    'random-only': { type: 'boolean', default: false },
    clouds: { type: 'boolean', default: true },
    wan: { type: 'boolean', default: false },
    files: { type: 'boolean', default: false },
    'wan-group': { type: 'string' },
  },
  allowNegative: true,
});
const quick = args.quick;
const size = 64 * MiB;
const parallel = quick ? 8 : 32;
const downloads = quick ? 8 : 32;
const repeats = Number(args.repeats ?? (quick ? 1 : 3));
const variants = [...args.variants];
// The engine's own defaults, so the table shows what users get.
const { partSize, concurrency } = new RangeEngine().options;
const defaults = { partSize, concurrency };

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  return { ...JSON.parse(line), stop: () => child.kill('SIGTERM') };
}

function progress(total: number): Bar {
  if (!process.stderr.isTTY) {
    let done = 0;
    return { tick: (what) => void process.stderr.write(`[${++done}/${total}] ${what}\n`), stop() {} };
  }
  const bar = new SingleBar({ stream: process.stderr, format: ' {bar} {value}/{total} runs | {what}', hideCursor: true });
  bar.start(total, 0, { what: 'starting' });
  return { tick: (what) => bar.increment(1, { what }), stop: () => bar.stop() };
}

function summarize(runs: Run[]) {
  const gib = runs[0]!.bytes / GiB;
  const pick = (f: (r: Run) => number) => median(runs.map(f));
  return {
    throughput: pick((r) => r.bytes / GiB / (r.wallMs / 1000)),
    cpuPerGiB: pick((r) => r.cpuMs / 1000 / gib),
    peakRssMiB: pick((r) => r.peakRss / MiB),
    freshPerMin: pick((r) => r.freshLarge / (r.wallMs / 60_000)),
    faultsPerGiB: pick((r) => r.minorFaults / gib),
    p50: pick((r) => r.p50),
    p99: pick((r) => r.p99),
    // The run whose throughput is the median, for the chart.
    sample: [...runs].sort((x, y) => x.bytes / x.wallMs - y.bytes / y.wallMs)[Math.floor(runs.length / 2)]!,
  };
}

const fmt = (n: number | undefined, d = 2) => (n === undefined ? '–' : n.toFixed(d));

function table(results: Results, variants: string[]): string {
  const rows = [
    '| variant | GiB/s | CPU s/GiB | peak RSS MiB | fresh ≥1 MiB allocations/min | minor faults/GiB | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const v of variants) {
    const r = results[v]!;
    rows.push(`| ${VARIANTS[v]!.label} | ${fmt(r.throughput)} | ${fmt(r.cpuPerGiB)} | ${fmt(r.peakRssMiB, 0)} | ${fmt(r.freshPerMin, 0)} | ${fmt(r.faultsPerGiB, 0)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} |`);
  }
  return rows.join('\n');
}

function ratios(results: Results): string[] {
  const { a, c, e, f } = results;
  const lines: string[] = [];
  if (c && e) lines.push(`c/e (the raw node:http ceiling): throughput ${fmt(c.throughput / e.throughput)}× (target ≥ 2.0×), CPU per GiB ${fmt(c.cpuPerGiB / e.cpuPerGiB)}× (target ≤ 0.5×)`);
  if (a && c) lines.push(`c/a throughput ${fmt(c.throughput / a.throughput)}× (target ≥ 1.5×), c/a CPU per GiB ${fmt(c.cpuPerGiB / a.cpuPerGiB)}× (target ≤ 0.6×)`);
  if (c && f) lines.push(`c/f (direct vs SDK transport): throughput ${fmt(c.throughput / f.throughput)}×, CPU per GiB ${fmt(c.cpuPerGiB / f.cpuPerGiB)}×`);
  if (c) lines.push(`c fresh large allocations after warm-up: ${fmt(c.freshPerMin, 0)}/min (target 0)`);
  return lines;
}

/** `repeats` alternating runs of each variant against one server; medians per variant. */
async function measure(server: Server, list: string[], bar: Bar, tag = ''): Promise<Results> {
  const runs = await alternating(list, repeats, async (v, r) => {
    const run = await runVariant({ variant: v, url: server.url, key: 'obj', size, parallel, downloads, ...defaults });
    bar.tick(`${tag}${VARIANTS[v]!.label} (repeat ${r + 1})`);
    return run;
  });
  return Object.fromEntries(list.map((v, i) => [v, summarize(runs[i]!)]));
}

async function withServer<T>(fn: (server: Server) => Promise<T>): Promise<T> {
  const server = await startServer();
  try {
    await putObject(server);
    return await fn(server);
  } finally {
    server.stop();
  }
}

async function putObject(server: Server): Promise<void> {
  const { request } = await import('node:http');
  await new Promise<void>((resolve, reject) => {
    const req = request(`${server.url}/bench/obj`, { method: 'PUT' }, (res) => res.resume().on('end', () => resolve()));
    req.on('error', reject);
    req.end(randomBytes(size));
  });
}

const SWEEP = [4, 8, 16, 32].flatMap((partMiB) => [4, 8, 16].map((concurrency) => ({ partMiB, concurrency })));
const SWEEP_REPEATS = 3;

/** Variant c over part size × per-object concurrency; each point the median of 3, in alternating order. */
async function sweep(server: Server, bar: Bar) {
  const samples = await alternating(SWEEP, SWEEP_REPEATS, async ({ partMiB, concurrency }, r) => {
    const run = await runVariant({ variant: 'c', url: server.url, key: 'obj', size, parallel, downloads: parallel, partSize: partMiB * MiB, concurrency });
    bar.tick(`sweep ${partMiB} MiB × ${concurrency} (repeat ${r + 1})`);
    return run;
  });
  return SWEEP.map((p, i) => ({
    ...p,
    throughput: median(samples[i]!.map((r) => r.bytes / GiB / (r.wallMs / 1000))),
    cpuPerGiB: median(samples[i]!.map((r) => r.cpuMs / 1000 / (r.bytes / GiB))),
  }));
}

function sweepTable(points: Awaited<ReturnType<typeof sweep>>): string[] {
  const best = points.reduce((a, b) => (b.throughput > a.throughput ? b : a));
  return [
    `Sweep (variant c, median of ${SWEEP_REPEATS} per point): best ${best.partMiB} MiB parts × ${best.concurrency} per object at ${fmt(best.throughput)} GiB/s`,
    '',
    '| part MiB | concurrency | GiB/s | CPU s/GiB |',
    '| ---: | ---: | ---: | ---: |',
    ...points.map((p) => `| ${p.partMiB} | ${p.concurrency} | ${fmt(p.throughput)} | ${fmt(p.cpuPerGiB)} |`),
  ];
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / GiB)} GiB, Node ${process.versions.node}, ${process.platform}-${process.arch}`;
const MANY = { count: quick ? 16 : 100, objects: 8, repeats: quick ? 1 : 3 };
if (args['sweep-only']) await withServer(sweepOnly);
else if (args['many-only']) await manyOnly();
else if (args['pool-only']) await poolOnly();
else if (args['random-only']) await randomOnly();
else if (args['nginx-only']) await nginxOnly();
else if (args['threads-only']) await threadsOnly();
else if (args.wan || args.files) await wanOnly(args.files);
else await fullRun();

/** The many-objects table and its RSS chart (SDK vs the CLI with and without the pool, each over its own run). */
function manyReport(results: Record<string, ManySummary>): string[] {
  if (!quick) {
    const chart = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { throughput: r.throughput, sample: { rss: r.rss.map(([t, b]): [number, number] => [t, b]) } }]));
    writeFileSync(new URL('results/many-rss.svg', here), chartSvg(chart, MANY_VARIANTS, ['sdk', 'cli-fresh', 'cli-pool'], true));
  }
  return [...manyTable(results, MANY.count, MANY.objects), ...(quick ? [] : ['', '![many objects: throughput, and RSS over each run](bench/results/many-rss.svg)'])];
}

/** Replaces a marked block of tables in docs/benchmarks.md (where the README sends readers for figures). */
function replaceBlock(name: string, lines: string[]): void {
  const readme = new URL('../docs/benchmarks.md', here);
  const re = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  writeFileSync(readme, readFileSync(readme, 'utf8').replace(re, `<!-- ${name}:start -->\n${lines.join('\n')}\n<!-- ${name}:end -->`));
}

/** The pool's policy on its own (bench/pool-policy.ts): fresh blocks per phase, with and without prefault and reuse. */
async function poolOnly(): Promise<void> {
  const lines = [`${machine}; client and server on the same cores; one process per row group, single samples`, '', await poolPolicy(quick)];
  console.log(lines.join('\n'));
  if (!quick) writeFileSync(new URL('results/pool-policy.md', here), lines.join('\n') + '\n');
}

/** Random access on its own (bench/random-access.ts): Parquet column reads and a safetensors slice. */
async function randomOnly(): Promise<void> {
  const lines = [`${machine}; client and server on the same cores; single samples`, '', await randomAccess(quick)];
  console.log(lines.join('\n'));
  if (!quick) writeFileSync(new URL('results/random-access.md', here), lines.join('\n') + '\n');
}

/** Against nginx on its own: library and command-line peers over HTTPS and HTTP. */
async function nginxOnly(): Promise<void> {
  const bar = progress(nginxRuns({ repeats }));
  const { lines } = await againstNginx({ quick, repeats, ...defaults, tick: bar.tick });
  bar.stop();
  console.log(lines.join('\n'));
  if (!quick) {
    writeFileSync(new URL('results/nginx.md', here), lines.join('\n') + '\n');
    replaceBlock('bench-nginx', lines);
  }
}

/** Range threads 0, 1, 2 (--thread-points) against nginx (--nginx-workers), over HTTPS and HTTP. */
async function threadsOnly(): Promise<void> {
  const points = args['thread-points'].split(',').map(Number);
  const bar = progress(scalingRuns({ repeats, points }));
  const lines = await threadScaling({ quick, repeats, ...defaults, points, nginxWorkers: Number(args['nginx-workers']), tick: bar.tick });
  bar.stop();
  const out = [`${machine}`, '', ...lines];
  console.log(out.join('\n'));
  if (!quick) {
    writeFileSync(new URL('results/threads.md', here), out.join('\n') + '\n');
    replaceBlock('bench-threads', out);
  }
}

/** The shaped network on its own (bench/wan.ts): a cloud's per-connection rate, first-byte delay, stragglers and SlowDown; or files on it. */
async function wanOnly(files: boolean): Promise<void> {
  const bar = progress(wanRuns({ quick, repeats, files }));
  const { lines } = await shapedNetwork({ quick, repeats, tick: bar.tick, only: args['wan-group'], files });
  bar.stop();
  const out = [`${machine}; client and server on the same cores`, '', ...lines];
  console.log(out.join('\n'));
  if (!quick) {
    writeFileSync(new URL(`results/${files ? 'files' : 'wan'}.md`, here), out.join('\n') + '\n');
    replaceBlock(files ? 'bench-files' : 'bench-wan', out);
  }
}

async function manyOnly(): Promise<void> {
  const bar = progress(Object.keys(MANY_VARIANTS).length * MANY.repeats);
  mkdirSync(new URL('results/', here), { recursive: true });
  const results = await manyObjects({ ...MANY, tick: bar.tick });
  bar.stop();
  const lines = [`${machine}; client and server on the same cores`, '', ...manyReport(results)];
  console.log(lines.join('\n'));
  if (!quick) {
    writeFileSync(new URL('results/many.md', here), lines.join('\n') + '\n');
    replaceBlock('bench-many', lines);
  }
}

async function sweepOnly(server: Server): Promise<void> {
  const bar = progress(SWEEP.length * SWEEP_REPEATS);
  const points = await sweep(server, bar);
  bar.stop();
  const report = [...sweepTable(points), '', ...(args.clouds ? await cloudComparisons() : [])].join('\n');
  console.log(report);
  mkdirSync(new URL('results/', here), { recursive: true });
  writeFileSync(new URL('results/sweep.md', here), `${report}\n`);
}

async function fullRun() {
  const sweepRuns = !quick && args.sweep ? SWEEP.length * SWEEP_REPEATS : 0;
  const manyRuns = args.many ? Object.keys(MANY_VARIANTS).length * MANY.repeats : 0;
  const nginxRunCount = args.nginx ? nginxRuns({ repeats }) : 0;
  const wanRunCount = quick ? 0 : wanRuns({ quick, repeats });
  const bar = progress(repeats * variants.length + nginxRunCount + sweepRuns + manyRuns + wanRunCount);
  mkdirSync(new URL('results/', here), { recursive: true });
  const { results, points } = await withServer(async (server) => ({
    results: await measure(server, variants, bar),
    points: sweepRuns ? await sweep(server, bar) : [],
  }));
  const nginx = args.nginx ? await againstNginx({ quick, repeats, ...defaults, tick: bar.tick }) : undefined;
  const many = manyRuns ? await manyObjects({ ...MANY, tick: bar.tick }) : undefined;
  const wan = wanRunCount ? await shapedNetwork({ quick, repeats, tick: bar.tick }) : undefined;
  bar.stop();
  const heading = `${parallel} concurrent downloads of 64 MiB (${defaults.partSize / MiB} MiB parts, ${defaults.concurrency ?? 'adaptive'} per object), ${downloads} per run after ${parallel} warm-up, ${repeats} repeat(s), medians; ${machine}; client and server on the same cores`;
  const main = [heading, '', table(results, variants), '', ...ratios(results).map((l) => `- ${l}`)];
  const out = [`## rangepool benchmark${quick ? ' (quick)' : ''}`, '', ...main];
  if (nginx) out.push('', '### Against nginx', '', ...nginx.lines);
  const manyLines = many ? manyReport(many) : [];
  if (many) out.push('', ...manyLines);
  if (wan) out.push('', '### On a shaped network', '', ...wan.lines);
  if (points.length) out.push('', ...sweepTable(points));
  if (!quick && args.clouds) out.push('', ...(await cloudComparisons()));
  const report = out.join('\n');
  console.log(report);
  if (!quick) {
    const dir = new URL('results/', here);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL('latest.md', dir), report + '\n');
    writeFileSync(new URL('latest.json', dir), JSON.stringify({ heading, results, nginx: nginx?.json, points, many, wan: wan?.json }) + '\n');
    if (nginx) {
      writeFileSync(new URL('nginx.md', dir), nginx.lines.join('\n') + '\n');
      replaceBlock('bench-nginx', nginx.lines);
    }
    if (many) replaceBlock('bench-many', [`${machine}; client and server on the same cores`, '', ...manyLines]);
    if (wan) {
      writeFileSync(new URL('wan.md', dir), wan.lines.join('\n') + '\n');
      replaceBlock('bench-wan', [`${machine}; client and server on the same cores`, '', ...wan.lines]);
    }
    if (results.a && results.c) writeFileSync(new URL('throughput-rss.svg', dir), chartSvg(results, VARIANTS));
    replaceBlock('bench', [...main, '', '![throughput and RSS over time, a vs c](bench/results/throughput-rss.svg)']);
  }
}
