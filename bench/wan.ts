// The shaped-network benchmark (`npm run bench -- --wan`): the loopback object server in its own process,
// shaped like a cloud (testing/object-server/shaper.ts: 24 MB/s per connection, 25 ms to the first byte),
// clean, with 3 % of responses 15x slow (body or head), and with 5 % answered 503 SlowDown; without an
// aggregate cap and with one that needs 18 connections to fill. Before each group the server's ceiling
// is measured by a client with 128 ranges of 8 MiB in flight. Scenarios: (a) one 1 GiB object, (b) 32
// concurrent 64 MiB objects, (c) 200 objects of 256 KiB, (d) 200 spans of 4 KiB of a 1 GiB object,
// each against the peers users would pick. Library clients run in their own process after a warm-up
// round (bench/run-wan.ts); command-line clients are measured under GNU time, writing to tmpfs.
// With --files (alone: `npm run bench -- --files`), files instead, on the clean network: (f1) one 1 GiB object
// to tmpfs, (f2) the same to disk (also with O_DIRECT), (f3) 1,000 objects of 256 KiB and (f4) 64 of 16 MiB to
// tmpfs; each against get()/getMany() into memory in the same run, the whole `rangepool get` process, aria2c,
// rclone and aws-cli; with each one's peak RSS.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { printable } from '../src/errors.js';
import type { ShapeOptions } from '../testing/object-server/index.js';
import { root, tsArgs } from '../testing/spawn.js';
import { median } from './measure.js';
import { COMMAND_TIMEOUT_MS, findProgram, gnuTime } from './peers.js';
import { parseGnuTime, processCpu, TIME_FORMAT } from './proc.js';
import type { WanClientOptions, WanRun } from './run-wan.js';

const MB = 1e6;
const MiB = 1 << 20;
const GiB = 1 << 30;
const BASE: ShapeOptions = { connectionRate: 24 * MB, firstByteMs: 25 };
/** An aggregate cap that 18 connections at 24 MB/s fill (a host's NIC). */
const CAP = 18 * 24 * MB;
export const NETWORKS: Record<string, ShapeOptions> = {
  clean: {},
  '3 % stragglers (15x)': { stragglers: { probability: 0.03, factor: 15 }, seed: 7 },
  '5 % SlowDown': { slowDown: 0.05, seed: 7 },
};

interface Server {
  url: string;
  pid: number;
  stop: () => void;
}

export interface WanOptions {
  quick: boolean;
  repeats: number;
  /** Only the groups whose name contains this (e.g. 'SlowDown'). */
  only?: string;
  /** The files scenarios (f1-f4) instead of (a)-(d). */
  files?: boolean;
  tick: (what: string) => void;
}

/** A client: a library one (run-wan.ts) or a command line, and what it fetches. */
interface Client {
  label: string;
  run: (s: Server, tmp: string) => Promise<{ wallMs: number; cpuMs: number; bytes: number; note?: string; rssBytes?: number }>;
  /** Only on the clean network (a single stream takes most of a minute per GiB). */
  cleanOnly?: boolean;
}

function http(method: string, url: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode! < 300 ? resolve(text) : reject(new Error(`${method} ${url}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  const { url, pid } = JSON.parse(line) as { url: string; pid: number };
  return { url, pid, stop: () => child.kill('SIGTERM') };
}

const shape = (s: Server, o: ShapeOptions) => http('POST', `${s.url}/_control/shape`, JSON.stringify(o));

function library(label: string, o: Omit<WanClientOptions, 'url'>): Client {
  return {
    label,
    cleanOnly: o.cold,
    run: (s) =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, [...tsArgs('bench/run-wan.ts', '--no-warnings'), JSON.stringify({ ...o, url: s.url })], { cwd: root, maxBuffer: 16 << 20, timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
          if (err) return reject(new Error(`${label} failed: ${printable((stderr || err.message).slice(0, 2000))}`));
          const r = JSON.parse(stdout.trim().split('\n').pop()!) as WanRun;
          const note = r.host ? `limit ${r.host.peakLimit}, ${r.host.stragglers} re-asked, ${r.host.decreases} cut(s)` : undefined;
          resolve({ wallMs: r.wallMs, cpuMs: r.cpuMs, bytes: r.bytes, note, rssBytes: r.peakRssBytes });
        });
      }),
  };
}

/** Bytes of the file, or of every file under the folder. */
function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path, { recursive: true, withFileTypes: true }).reduce((n, d) => (d.isFile() ? n + statSync(join(d.parentPath, d.name)).size : n), 0);
}

function command(label: string, program: () => string | undefined, args: (s: Server, out: string) => string[], opts: { env?: (tmp: string, s: Server) => Record<string, string>; dir?: boolean; cleanOnly?: boolean; under?: string } = {}): Client | undefined {
  const exe = program();
  if (!exe) return undefined;
  return {
    label,
    cleanOnly: opts.cleanOnly,
    run: async (s, tmp) => {
      const out = join(opts.under ?? tmp, opts.dir ? 'out/' : 'out');
      const timeFile = join(tmp, 'time');
      const env = { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: s.url, AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONFIG_FILE: '/dev/null', ...opts.env?.(tmp, s) };
      await new Promise<void>((resolve, reject) => {
        execFile(gnuTime()!, ['-f', TIME_FORMAT, '-o', timeFile, exe, ...args(s, out)], { env, maxBuffer: 16 << 20, timeout: COMMAND_TIMEOUT_MS }, (err, _o, stderr) => {
          if (err) reject(new Error(`${label} failed: ${printable((stderr || err.message).trim().slice(0, 2000))}`));
          else resolve();
        });
      });
      const t = parseGnuTime(readFileSync(timeFile, 'utf8'));
      const bytes = sizeOf(out);
      rmSync(out, { recursive: true, force: true });
      return { wallMs: t.wallS * 1000, cpuMs: t.cpuS * 1000, bytes, rssBytes: t.peakRssBytes };
    },
  };
}

const nodeCli = join(root, 'dist', 'cli', 'main.js');
const aws = () => findProgram('aws', ['/usr/bin', '/usr/local/bin'], (f) => f.startsWith('/usr/'));
/** aws-cli's own setting for requests in flight (its default is 10). */
const awsConfig = (n: number) => (tmp: string) => {
  const file = join(tmp, `aws-${n}.ini`);
  writeFileSync(file, `[default]\ns3 =\n  max_concurrent_requests = ${n}\n`);
  return { AWS_CONFIG_FILE: file };
};

/** The command lines that fetch every object under a prefix into a folder. */
function underPrefix(prefix: string): Array<Client | undefined> {
  const awsArgs = (s: Server, out: string) => ['s3', 'cp', '--recursive', prefix, out, '--endpoint-url', s.url, '--no-progress', '--only-show-errors'];
  return [
    command('rangepool get -r (CLI defaults)', () => process.execPath, (_s, out) => [nodeCli, 'get', '-r', prefix, '-o', out, '-q'], { dir: true }),
    command('aws s3 cp --recursive (defaults: 10)', aws, awsArgs, { dir: true }),
    command('aws s3 cp --recursive, 32 requests', aws, awsArgs, { dir: true, env: awsConfig(32) }),
  ];
}

/** rclone fetching the 1 GiB object over HTTP in 16 streams (into `under`, else the run's tmpfs folder). */
const rcloneStreams = (label: string, under?: string) =>
  command(label, () => findProgram('rclone'), (s, out) => ['copyto', ':http:/bench/big', out, '--http-url', s.url, '--multi-thread-streams', '16', '--multi-thread-cutoff', '64M'], { env: () => ({ RCLONE_CONFIG: '/dev/null' }), ...(under ? { under } : {}) });

/** rclone's S3 backend on the server, configured from the environment as remote `rp:`. */
// (ListObjectsV2, which the server speaks; no CA bundle: the SDK inside rclone refuses one on its transport)
const rcloneS3 = (s: Server) => ({ RCLONE_CONFIG: '/dev/null', RCLONE_CONFIG_RP_TYPE: 's3', RCLONE_CONFIG_RP_PROVIDER: 'Other', RCLONE_CONFIG_RP_LIST_VERSION: '2', AWS_CA_BUNDLE: '', RCLONE_CONFIG_RP_ENDPOINT: s.url, RCLONE_CONFIG_RP_ACCESS_KEY_ID: 'bench', RCLONE_CONFIG_RP_SECRET_ACCESS_KEY: 'bench', RCLONE_CONFIG_RP_FORCE_PATH_STYLE: 'true' });

/** --files: whole files, where most users want them; tmpfs (`shm`) and the disk (`disk`, a folder on it) apart. */
function fileScenarios(shm: string, disk: string): Scenario[] {
  const one = 's3://bench/big';
  const thousand = Array.from({ length: 1000 }, (_, i) => `s3://bench/thousand/${i}`);
  const sixteen = Array.from({ length: 64 }, (_, i) => `s3://bench/sixteen/${i}`);
  const awsCp = (...args: string[]) => (s: Server, out: string) => ['s3', 'cp', ...args, out, '--endpoint-url', s.url, '--no-progress', '--only-show-errors'];
  const cli = (to: string, under: string, ...flags: string[]) => command(`rangepool get ${flags.join(' ')}${flags.length ? ' ' : ''}(a fresh process) to ${to}`, () => process.execPath, (_s, out) => [nodeCli, 'get', one, '-o', out, '-q', ...flags], { under });
  const aria = (to: string, under: string) => command(`aria2c -x16 -s16 -k8M to ${to}`, () => findProgram('aria2c'), (s, out) => ['-x16', '-s16', '-k8M', '-q', '--file-allocation=none', `--dir=${join(out, '..')}`, '--out=out', `${s.url}/bench/big`], { under });
  return [
    {
      name: '(f1) one 1 GiB object to a file on tmpfs',
      bytes: GiB,
      clients: [
        library('get() into memory (warm)', { client: 'get', keys: [one] }),
        library('download() (warm)', { client: 'download', keys: [one], dir: join(shm, 'lib') }),
        cli('tmpfs', shm),
        aria('tmpfs', shm),
        rcloneStreams('rclone copyto, 16 streams', shm),
        command('aws s3 cp, 32 requests, to tmpfs', aws, awsCp(one), { env: awsConfig(32), under: shm }),
      ],
    },
    {
      name: '(f2) one 1 GiB object to a file on disk',
      bytes: GiB,
      clients: [
        library('download() (warm)', { client: 'download', keys: [one], dir: join(disk, 'lib') }),
        library('download({ direct }) (warm)', { client: 'download', keys: [one], dir: join(disk, 'lib'), direct: true }),
        cli('disk', disk),
        cli('disk', disk, '--direct'),
        aria('disk', disk),
      ],
    },
    {
      name: '(f3) 1,000 objects of 256 KiB to tmpfs',
      bytes: 1000 * 256 * 1024,
      clients: [
        library('getMany() into memory (warm)', { client: 'getMany', keys: thousand }),
        library('getMany({ to }) (warm)', { client: 'getManyTo', keys: thousand, dir: join(shm, 'lib') }),
        command('rangepool get -r (a fresh process)', () => process.execPath, (_s, out) => [nodeCli, 'get', '-r', 's3://bench/thousand/', '-o', out, '-q'], { dir: true, under: shm }),
        command('rclone copy --transfers 32', () => findProgram('rclone'), (_s, out) => ['copy', 'rp:bench/thousand', out, '--transfers', '32'], { dir: true, under: shm, env: (_t, s) => rcloneS3(s) }),
        command('aws s3 cp --recursive, 32 requests', aws, awsCp('--recursive', 's3://bench/thousand/'), { dir: true, under: shm, env: awsConfig(32) }),
      ],
    },
    {
      name: '(f4) 64 objects of 16 MiB to tmpfs',
      bytes: 64 * 16 * MiB,
      clients: [
        library('getMany() into memory (warm)', { client: 'getMany', keys: sixteen }),
        library('getMany({ to }) (warm)', { client: 'getManyTo', keys: sixteen, dir: join(shm, 'lib') }),
        command('rangepool get -r (a fresh process)', () => process.execPath, (_s, out) => [nodeCli, 'get', '-r', 's3://bench/sixteen/', '-o', out, '-q'], { dir: true, under: shm }),
        command('rclone copy --transfers 32, 16 streams', () => findProgram('rclone'), (_s, out) => ['copy', 'rp:bench/sixteen', out, '--transfers', '32', '--multi-thread-streams', '16'], { dir: true, under: shm, env: (_t, s) => rcloneS3(s) }),
        command('aws s3 cp --recursive, 32 requests', aws, awsCp('--recursive', 's3://bench/sixteen/'), { dir: true, under: shm, env: awsConfig(32) }),
      ],
    },
  ];
}

interface Scenario {
  name: string;
  bytes: number;
  clients: Array<Client | undefined>;
}

function scenarios(quick: boolean): Scenario[] {
  const one = 's3://bench/big';
  const many = Array.from({ length: 32 }, (_, i) => `s3://bench/many/${i}`);
  const small = Array.from({ length: 200 }, (_, i) => `s3://bench/small/${i}`);
  const spans = Array.from({ length: 200 }, (_, i): [number, number] => [i * 5 * MiB + 12_345, 4096]);
  const url = (s: Server, key: string) => `${s.url}/bench/${key}`;
  return [
    {
      name: '(a) one 1 GiB object',
      bytes: GiB,
      clients: [
        library('get() defaults', { client: 'get', keys: [one] }),
        command('rangepool get (CLI defaults)', () => process.execPath, (_s, out) => [nodeCli, 'get', one, '-o', out, '-q']),
        command('aws s3 cp (aws-cli v2 defaults: 10)', aws, (s, out) => ['s3', 'cp', one, out, '--endpoint-url', s.url, '--no-progress', '--only-show-errors']),
        command('aws s3 cp, 32 requests', aws, (s, out) => ['s3', 'cp', one, out, '--endpoint-url', s.url, '--no-progress', '--only-show-errors'], { env: awsConfig(32) }),
        command('aria2c -x16 -s16 -k8M', () => findProgram('aria2c'), (s, out) => ['-x16', '-s16', '-k8M', '-q', `--dir=${join(out, '..')}`, '--out=out', url(s, 'big')]),
        command('rclone (default 4 streams)', () => findProgram('rclone'), (s, out) => ['copyto', ':http:/bench/big', out, '--http-url', s.url], { env: () => ({ RCLONE_CONFIG: '/dev/null' }) }),
        rcloneStreams('rclone, 16 streams'),
        ...(quick ? [] : [library('SDK GetObject (one stream)', { client: 'sdk', keys: [one], cold: true }), command('curl (one stream)', () => findProgram('curl'), (s, out) => ['-sS', '--fail', '-o', out, url(s, 'big')], { cleanOnly: true })]),
      ],
    },
    {
      name: '(b) 32 concurrent objects of 64 MiB',
      bytes: 32 * 64 * MiB,
      clients: [
        library('32 × get() defaults', { client: 'get', keys: many }),
        library('32 × SDK GetObject', { client: 'sdk', keys: many }),
        ...underPrefix('s3://bench/many/'),
      ],
    },
    {
      name: '(c) 200 objects of 256 KiB',
      bytes: 200 * 256 * 1024,
      clients: [
        library('getMany(list) defaults', { client: 'getMany', keys: small }),
        library('SDK GetObject, 200 at once', { client: 'sdk', keys: small }),
        ...underPrefix('s3://bench/small/'),
      ],
    },
    {
      name: '(d) 200 spans of 4 KiB of a 1 GiB object',
      bytes: 200 * 4096,
      clients: [library('getRanges() defaults', { client: 'getRanges', keys: ['{url}/bench/big'], spans }), library('SDK ranged GetObject, 16 at a time', { client: 'sdkRanges', keys: [one], spans })],
    },
  ];
}

interface Row {
  label: string;
  seconds: number;
  mbps: number;
  cpuPerGiB: number;
  rssMiB?: number | undefined;
  note?: string;
}

/** Median of `repeats` runs of the client (its samples alternate with the others' through the caller). */
async function measure(client: Client, s: Server, tmp: string, expect: number): Promise<{ wallMs: number; cpuMs: number; note?: string }> {
  const r = await client.run(s, tmp);
  if (r.bytes !== expect) throw new Error(`${client.label} got ${r.bytes} bytes, expected ${expect}`);
  return r;
}

async function load(s: Server): Promise<void> {
  await http('PUT', `${s.url}/bench`);
  await http('PUT', `${s.url}/bench/big`, randomBytes(GiB));
  await http('PUT', `${s.url}/bench/m`, randomBytes(64 * MiB));
  await http('POST', `${s.url}/_control/replicate`, JSON.stringify({ bucket: 'bench', key: 'm', prefix: 'many/', count: 32 }));
  await http('PUT', `${s.url}/bench/s`, randomBytes(256 * 1024));
  await http('POST', `${s.url}/_control/replicate`, JSON.stringify({ bucket: 'bench', key: 's', prefix: 'small/', count: 200 }));
  await http('POST', `${s.url}/_control/replicate`, JSON.stringify({ bucket: 'bench', key: 's', prefix: 'thousand/', count: 1000 }));
  await http('PUT', `${s.url}/bench/x`, randomBytes(16 * MiB));
  await http('POST', `${s.url}/_control/replicate`, JSON.stringify({ bucket: 'bench', key: 'x', prefix: 'sixteen/', count: 64 }));
  // The server computes an object's checksums on the first HEAD that asks (the CLI's stat does): not in a measured run.
  for (const key of ['big', 'many/0', 'small/0']) await http('HEAD', `${s.url}/bench/${key}`, undefined, { 'x-amz-checksum-mode': 'ENABLED' });
}

/** How many runs a full --wan run makes (for the progress bar). */
export function wanRuns(o: { quick: boolean; repeats: number; files?: boolean }): number {
  const groups = o.files ? 1 : Object.keys(NETWORKS).length + 1;
  return (o.files ? fileScenarios('', '') : scenarios(o.quick)).reduce((n, sc) => n + sc.clients.filter(Boolean).length * o.repeats * groups, 0) + (o.files ? 1 : 2);
}

export async function shapedNetwork(o: WanOptions): Promise<{ lines: string[]; json: unknown }> {
  if (!gnuTime()) throw new Error('GNU time is not installed (apt-get install time)');
  const tmp = mkdtempSync(join('/dev/shm', 'rangepool-wan-'));
  const disk = mkdtempSync(join(tmpdir(), 'rangepool-wan-'));
  const s = await startServer();
  const lines: string[] = [];
  const json: Record<string, unknown> = {};
  try {
    await load(s);
    const groups: Array<[string, ShapeOptions]> = o.files ? [['clean', BASE]] : [...Object.entries(NETWORKS).map(([n, net]): [string, ShapeOptions] => [n, { ...BASE, ...net }]), [`clean, ${Math.round(CAP / MB)} MB/s aggregate cap`, { ...BASE, totalRate: CAP }]];
    const ceilings: Record<string, number> = {};
    for (const [name, net] of groups.filter(([n]) => o.only === undefined || n.includes(o.only))) {
      const cap = net.totalRate !== undefined;
      if (!(String(cap) in ceilings)) {
        // The server's ceiling on this machine: 128 ranges of 8 MiB in flight, clean.
        await shape(s, { ...BASE, ...(cap ? { totalRate: CAP } : {}) });
        const cpu0 = processCpu([s.pid]);
        const r = await measure(library('ceiling', { client: 'ceiling', keys: ['s3://bench/big'] }), s, tmp, GiB);
        ceilings[String(cap)] = GiB / (r.wallMs / 1000);
        o.tick(`ceiling ${cap ? 'capped' : 'uncapped'}`);
        lines.push(`Server ceiling ${cap ? `with the ${Math.round(CAP / MB)} MB/s cap` : 'without an aggregate cap'}: ${(ceilings[String(cap)]! / MB).toFixed(0)} MB/s (1 GiB in ${(r.wallMs / 1000).toFixed(2)} s; the shaped server used ${(((processCpu([s.pid]) - cpu0) * 1000) / 1000).toFixed(2)} CPU s)`);
      }
      const ceiling = ceilings[String(cap)]!;
      for (const sc of o.files ? fileScenarios(tmp, disk) : scenarios(o.quick)) {
        if (cap && !sc.name.startsWith('(a)') && !sc.name.startsWith('(b)')) continue;
        const clients = sc.clients.filter((c): c is Client => c !== undefined && (!c.cleanOnly || name === 'clean'));
        const samples = clients.map(() => [] as Array<{ wallMs: number; cpuMs: number; note?: string; rssBytes?: number }>);
        // A client that fails a run (aria2c gives up on some 503s) is counted, not fatal.
        const failed = clients.map(() => [] as string[]);
        for (let r = 0; r < o.repeats; r++) {
          const order = clients.map((_, i) => i);
          if (r % 2) order.reverse();
          for (const i of order) {
            if (clients[i]!.cleanOnly && r > 0) continue;
            await shape(s, net); // the same seeded draws for every client
            await measure(clients[i]!, s, tmp, sc.bytes).then(
              (run) => samples[i]!.push(run),
              (e: Error) => failed[i]!.push(e.message.split('\n')[0]!.slice(0, 200)),
            );
            o.tick(`${sc.name}, ${name}: ${clients[i]!.label}`);
          }
        }
        const rows: Row[] = clients.map((c, i) => {
          const fails = failed[i]!.length ? `failed ${failed[i]!.length} of ${failed[i]!.length + samples[i]!.length}` : undefined;
          if (samples[i]!.length === 0) return { label: c.label, seconds: NaN, mbps: NaN, cpuPerGiB: NaN, note: fails };
          const wall = median(samples[i]!.map((x) => x.wallMs));
          const mid = samples[i]!.find((x) => x.wallMs === wall)!;
          const note = [mid.note, fails].filter(Boolean).join('; ') || undefined;
          return { label: c.label, seconds: wall / 1000, mbps: sc.bytes / MB / (wall / 1000), cpuPerGiB: mid.cpuMs / 1000 / (sc.bytes / GiB), rssMiB: mid.rssBytes && mid.rssBytes / MiB, note };
        });
        json[`${sc.name} | ${name}`] = rows;
        lines.push('', `**${sc.name}, ${name}** (${o.repeats > 1 ? `medians of ${o.repeats}` : 'one sample'}; ceiling ${(ceiling / MB).toFixed(0)} MB/s)`, '', '| client | s | MB/s | of ceiling | CPU s/GiB | peak RSS MiB | rangepool found |', '| --- | ---: | ---: | ---: | ---: | ---: | --- |');
        for (const r of rows) lines.push(`| ${r.label} | ${r.seconds.toFixed(2)} | ${r.mbps.toFixed(0)} | ${sc.bytes >= 64 * MiB && r.mbps > 0 ? `${Math.round((r.mbps * MB * 100) / ceiling)} %` : '–'} | ${r.cpuPerGiB.toFixed(2)} | ${r.rssMiB?.toFixed(0) ?? '–'} | ${r.note ?? ''} |`);
        // Each table as it is done: a long run that fails later keeps what it measured.
        process.stderr.write(`${lines.slice(lines.length - rows.length - 4).join('\n')}\n`);
      }
    }
  } finally {
    s.stop();
    rmSync(tmp, { recursive: true, force: true });
    rmSync(disk, { recursive: true, force: true });
  }
  return { lines, json };
}
