// rangepool against nginx (Debian's, 1 worker, ECDSA P-256, TLS 1.3) and the clients users would pick
// instead, over HTTPS and plain HTTP, in one run:
//  - library: the seed's scenario (32 concurrent downloads of 64 MiB) through rangepool (an https:// URL
//    and s3://, both on the direct transport), raw node:http(s), undici request(), global fetch() and the
//    AWS SDK, each in its own process (bench/run-variant.ts);
//  - command line: one 1 GiB object to a file on tmpfs through `rangepool get`, curl, aria2c, rclone and
//    aws-cli v2, each under GNU time (bench/peers.ts).
// Every row gives the client's GiB/s, CPU s/GiB and peak RSS, the server's CPU s/GiB and how busy the
// machine was; beside them the ceiling: AES-GCM speed per core and what nginx itself spends.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alternating, median, runVariant } from './measure.js';
import { nginxMissing, startNginx, type Nginx } from '../testing/nginx.js';
import { CLI_PEERS, findProgram, gnuTime, measureCommand, type CommandRun } from './peers.js';
import { VARIANTS } from './variants.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

/** Library variants against nginx, rangepool's first (bench/variants.ts); j runs over https only. */
export const NGINX_LIBRARY = ['g', 'j', 'c', 'e', 'h', 'i', 'a'];
/** Variants and peers that are only run over https (over HTTP they would repeat another row). */
const TLS_ONLY = new Set(['j', 'rangepool-node-tls']);

export interface NginxBenchOptions {
  quick: boolean;
  repeats: number;
  partSize: number;
  concurrency?: number;
  tick: (what: string) => void;
  /** Library variants to run (default NGINX_LIBRARY). */
  variants?: string[];
  /** Command-line peers to run (default all of CLI_PEERS that are installed). */
  clis?: string[];
}

/** What each row shows: medians over the repeats. */
export interface Row {
  label: string;
  /** Calls into JavaScript per GiB that delivered TLS bytes (rangepool's library rows over https). */
  callsPerGiB?: number | undefined;
  throughput: number;
  cpuPerGiB: number;
  serverCpuPerGiB: number;
  peakRssMiB: number;
  busy?: number;
}

type Sample = Pick<CommandRun, 'bytes' | 'wallMs' | 'cpuMs' | 'serverCpuMs' | 'peakRss' | 'busy'> & { tlsReadCalls?: number | undefined };

export function row(label: string, runs: Sample[]): Row {
  const pick = (f: (r: Sample) => number) => median(runs.map(f));
  const busy = runs.every((r) => r.busy !== undefined) ? pick((r) => r.busy!) : undefined;
  const calls = runs.every((r) => r.tlsReadCalls) ? pick((r) => r.tlsReadCalls! / (r.bytes / GiB)) : undefined;
  return {
    label,
    callsPerGiB: calls,
    throughput: pick((r) => r.bytes / GiB / (r.wallMs / 1000)),
    cpuPerGiB: pick((r) => r.cpuMs / 1000 / (r.bytes / GiB)),
    serverCpuPerGiB: pick((r) => r.serverCpuMs / 1000 / (r.bytes / GiB)),
    peakRssMiB: pick((r) => r.peakRss / MiB),
    busy,
  };
}

const fmt = (n: number | undefined, d = 2) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d));

export function rowsTable(rows: Row[]): string[] {
  const calls = rows.some((r) => r.callsPerGiB !== undefined);
  return [
    `| client | GiB/s | client CPU s/GiB | server CPU s/GiB | client peak RSS MiB | machine busy |${calls ? ' JS calls per GiB of TLS bytes |' : ''}`,
    `| --- | ---: | ---: | ---: | ---: | ---: |${calls ? ' ---: |' : ''}`,
    ...rows.map((r) => `| ${r.label} | ${fmt(r.throughput)} | ${fmt(r.cpuPerGiB)} | ${fmt(r.serverCpuPerGiB)} | ${fmt(r.peakRssMiB, 0)} | ${r.busy === undefined ? '–' : `${Math.round(r.busy * 100)} %`} |${calls ? ` ${fmt(r.callsPerGiB, 0)} |` : ''}`),
  ];
}

/** One ratio line against a target: `a` over `b`, met or missed. */
function target(what: string, value: number, goal: number, atLeast = true): string {
  const met = atLeast ? value >= goal : value <= goal;
  return `${what}: ${fmt(value)}× (target ${atLeast ? '≥' : '≤'} ${goal}×) ${met ? 'met' : '**missed**'}`;
}

/** The issue's targets, for whichever rows ran. Keys: variant letters and CLI peer names. */
export function targets(tls: boolean, lib: Record<string, Row>, cli: Record<string, Row>): string[] {
  const lines: string[] = [];
  const { g, c, e, a, j } = lib;
  const proto = tls ? 'HTTPS' : 'HTTP';
  // The native TLS reader against the path it replaces (j: the same client on Node's TLS).
  if (tls && g && j) {
    lines.push(target('HTTPS: native TLS / Node\'s TLS (g / j) CPU per GiB', g.cpuPerGiB / j.cpuPerGiB, 0.7, false));
    lines.push(target('HTTPS: native TLS / Node\'s TLS (g / j) throughput', g.throughput / j.throughput, 1.25));
  }
  if (tls && g?.callsPerGiB !== undefined) lines.push(`HTTPS: JavaScript calls per GiB of TLS bytes ${fmt(g.callsPerGiB, 0)} (target ≤ 1,000) ${g.callsPerGiB <= 1000 ? 'met' : '**missed**'}${j?.callsPerGiB ? `; on Node's TLS ${fmt(j.callsPerGiB, 0)}` : ''}`);
  if (g && e) {
    lines.push(target(`${proto}: rangepool (URL) / raw node:${tls ? 'https' : 'http'} throughput`, g.throughput / e.throughput, tls ? 2.5 : 3));
    if (tls) lines.push(target('HTTPS: rangepool (URL) / raw node:https CPU per GiB', g.cpuPerGiB / e.cpuPerGiB, 0.7, false));
  }
  if (tls && g && a) lines.push(target('HTTPS: rangepool (URL) / the SDK throughput', g.throughput / a.throughput, 4));
  if (c && e) lines.push(`${proto}: rangepool (s3://) / raw node:${tls ? 'https' : 'http'} throughput ${fmt(c.throughput / e.throughput)}×, CPU per GiB ${fmt(c.cpuPerGiB / e.cpuPerGiB)}×`);
  const r = cli.rangepool;
  if (r && cli.curl && tls) {
    lines.push(target('HTTPS, one object: rangepool get / curl throughput', r.throughput / cli.curl.throughput, 1));
    lines.push(target('HTTPS, one object: rangepool get / curl CPU per GiB', r.cpuPerGiB / cli.curl.cpuPerGiB, 0.8, false));
  }
  if (r && tls) for (const peer of ['aria2c', 'rclone', 'aws']) if (cli[peer]) lines.push(target(`HTTPS, one object: rangepool get / ${peer} throughput`, r.throughput / cli[peer].throughput, 1));
  return lines;
}

/** AES-128-GCM bytes per second on one core (openssl speed, 16 KiB blocks: TLS records), or undefined. */
export async function aesGcmSpeed(): Promise<number | undefined> {
  const openssl = findProgram('openssl');
  if (!openssl) return undefined;
  const { stdout } = await promisify(execFile)(openssl, ['speed', '-evp', 'aes-128-gcm', '-bytes', '16384', '-seconds', '2'], { encoding: 'utf8' });
  return parseOpensslSpeed(stdout);
}

/** The 16 KiB figure of `openssl speed -evp aes-128-gcm -bytes 16384` (in 1000s of bytes per second), as bytes/s. */
export function parseOpensslSpeed(text: string): number | undefined {
  const m = /^aes-128-gcm\s+([\d.]+)k\s*$/im.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** The ceiling lines: no client, even one that did nothing but decrypt, can pass cores / (server + decrypt) s/GiB. */
export function ceiling(aes: number | undefined, serverTls: number | undefined, serverPlain: number | undefined, cores: number): string[] {
  const lines: string[] = [];
  if (aes) lines.push(`AES-128-GCM on one core (openssl speed -evp aes-128-gcm, 16 KiB blocks): ${(aes / 1e9).toFixed(2)} GB/s, so decryption alone costs a client ${fmt(GiB / aes, 3)} CPU s/GiB`);
  if (serverTls !== undefined) lines.push(`nginx spent ${fmt(serverTls)} CPU s/GiB over TLS${serverPlain !== undefined ? ` and ${fmt(serverPlain)} over plain HTTP` : ''} (median of the library rows)`);
  if (aes && serverTls) lines.push(`so on ${cores} cores shared by client and server no client can pass about ${fmt(cores / (serverTls + GiB / aes))} GiB/s over TLS against this server`);
  return lines;
}

/** Writes `size` random bytes to `file` in 64 MiB pieces (one random piece, repeated with a counter, is enough for a server). */
function writeObject(file: string, size: number): void {
  const piece = randomBytes(64 * MiB);
  const fd = openSync(file, 'wx', 0o644);
  try {
    for (let at = 0, n = 0; at < size; at += piece.length, n++) {
      piece.writeUInt32LE(n, 0); // no two pieces alike
      writeSync(fd, piece, 0, Math.min(piece.length, size - at), at);
    }
  } finally {
    closeSync(fd);
  }
}

/** The command-line peers that can run here, and a line for each one that cannot (and why). */
export function availablePeers(names = Object.keys(CLI_PEERS)): { run: string[]; skipped: string[] } {
  if (!gnuTime()) return { run: [], skipped: ['command-line clients skipped: GNU time is not installed (apt-get install time)'] };
  const run = names.filter((n) => CLI_PEERS[n]!.program());
  return { run, skipped: names.filter((n) => !run.includes(n)).map((n) => `${n} skipped: not installed (${CLI_PEERS[n]!.install})`) };
}

/** How many measured runs againstNginx makes (for a progress bar); 0 when nginx cannot run. */
export function nginxRuns(o: Pick<NginxBenchOptions, 'repeats' | 'variants' | 'clis'>): number {
  if (nginxMissing()) return 0;
  const items = [...(o.variants ?? NGINX_LIBRARY), ...availablePeers(o.clis).run];
  return o.repeats * (2 * items.length - items.filter((i) => TLS_ONLY.has(i)).length);
}

interface Served {
  nginx: Nginx;
  /** Where command-line clients write (tmpfs where there is one). */
  out: string;
  seed: { size: number; parallel: number; downloads: number };
  bigSize: number;
}

/** nginx over a fresh tmpfs tree holding bench/obj (64 MiB) and bench/big (1 GiB; 256 MiB quick), for fn. */
async function withNginx<T>(o: { quick: boolean; workers?: number }, fn: (s: Served) => Promise<T>): Promise<T> {
  const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'rangepool-nginx-'));
  chmodSync(base, 0o755); // nginx's workers (nobody, when started by root) must reach www/
  const www = join(base, 'www');
  const out = join(base, 'out');
  mkdirSync(join(www, 'bench'), { recursive: true });
  mkdirSync(out);
  const seed = { size: 64 * MiB, parallel: o.quick ? 8 : 32, downloads: o.quick ? 8 : 32 };
  const bigSize = o.quick ? 256 * MiB : GiB;
  writeObject(join(www, 'bench', 'obj'), seed.size);
  writeObject(join(www, 'bench', 'big'), bigSize);
  let nginx: Nginx | undefined;
  try {
    nginx = await startNginx({ root: www, prefix: join(base, 'nginx'), workers: o.workers });
    return await fn({ nginx, out, seed, bigSize });
  } finally {
    await nginx?.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

/** The whole nginx section as Markdown lines (a line that says why, when nginx or a peer is absent). */
export async function againstNginx(o: NginxBenchOptions): Promise<{ lines: string[]; json: unknown }> {
  const missing = nginxMissing();
  if (missing) return { lines: [`nginx scenarios skipped: ${missing}.`], json: { skipped: missing } };
  return withNginx(o, async ({ nginx, out, seed, bigSize }) => {
    const { run: allClis, skipped } = availablePeers(o.clis);
    const programs = new Map(allClis.map((n) => [n, CLI_PEERS[n]!.program()!])); // found once: aws answers --version slowly
    const sections: string[] = [];
    const json: Record<string, unknown> = { nginx: nginx.version };
    const serverPerGiB: Record<string, number[]> = { tls: [], plain: [] };
    for (const tls of [true, false]) {
      const variants = (o.variants ?? NGINX_LIBRARY).filter((v) => tls || !TLS_ONLY.has(v));
      const clis = allClis.filter((n) => tls || !TLS_ONLY.has(n));
      const origin = tls ? nginx.https : nginx.http;
      const caEnv: Record<string, string> = tls ? { NODE_EXTRA_CA_CERTS: nginx.caFile } : {};
      // Library variants and command-line peers, one alternating order over both.
      const items = [...variants.map((v) => ({ v })), ...clis.map((name) => ({ name }))];
      const samples = await alternating(items, o.repeats, async (item, r): Promise<Sample> => {
        if ('v' in item) {
          const opts = { variant: item.v, url: origin, ca: tls ? nginx.ca : undefined, key: 'obj', ...seed, partSize: o.partSize, concurrency: o.concurrency, serverPids: nginx.workerPids() };
          const run = await runVariant(opts, caEnv);
          o.tick(`nginx ${tls ? 'HTTPS' : 'HTTP'}: ${VARIANTS[item.v]!.label} (repeat ${r + 1})`);
          return run;
        }
        const peer = CLI_PEERS[item.name]!;
        const output = join(out, `${item.name}-${r}`);
        const { args, env } = peer.command({ url: `${origin}/bench/big`, s3: { uri: 's3://bench/big', endpoint: origin }, caFile: tls ? nginx.caFile : undefined, output });
        const run = await measureCommand(programs.get(item.name)!, args, { env, output, bytes: bigSize, serverPids: nginx.workerPids });
        o.tick(`nginx ${tls ? 'HTTPS' : 'HTTP'}: ${peer.label} (repeat ${r + 1})`);
        return run;
      });
      const lib = Object.fromEntries(variants.map((v, i) => [v, samples[i]!]));
      const cli = Object.fromEntries(clis.map((n, i) => [n, samples[variants.length + i]!]));
      const libRows = Object.fromEntries(variants.map((v) => [v, row(VARIANTS[v]!.label, lib[v]!)]));
      const cliRows = Object.fromEntries(clis.map((n) => [n, row(CLI_PEERS[n]!.label, cli[n]!)]));
      serverPerGiB[tls ? 'tls' : 'plain'] = Object.values(libRows).map((r) => r.serverCpuPerGiB);
      json[tls ? 'https' : 'http'] = { library: libRows, cli: cliRows };
      const proto = tls ? 'HTTPS' : 'plain HTTP';
      sections.push(
        '',
        `#### Library, ${proto}: ${seed.parallel} concurrent downloads of 64 MiB`,
        '',
        ...rowsTable(Object.values(libRows)),
        ...(clis.length ? ['', `#### Command line, ${proto}: one ${bigSize / MiB} MiB object to a file on tmpfs`, '', ...rowsTable(Object.values(cliRows))] : []),
        '',
        ...targets(tls, libRows, cliRows).map((l) => `- ${l}`),
      );
    }
    const aes = await aesGcmSpeed();
    const cores = availableParallelism();
    const ceil = ceiling(aes, serverPerGiB.tls!.length ? median(serverPerGiB.tls!) : undefined, serverPerGiB.plain!.length ? median(serverPerGiB.plain!) : undefined, cores);
    json.ceiling = { aesGcmBytesPerSecond: aes, cores };
    const head = `${nginx.version}, 1 worker, TLS 1.3 with ECDSA P-256, objects on tmpfs; rangepool with ${o.partSize / MiB} MiB parts × ${o.concurrency ?? 'adaptive'}; medians of ${o.repeats}, variants alternating; each client in its own process; client and server on the same ${cores} cores`;
    return { lines: [head, ...sections, '', ...ceil.map((l) => `- ${l}`), ...skipped.map((l) => `- ${l}`)], json };
  });
}

export interface ScalingOptions {
  quick: boolean;
  repeats: number;
  partSize: number;
  concurrency?: number;
  /** Range thread counts to measure (0: the calling thread). */
  points: number[];
  nginxWorkers: number;
  tick: (what: string) => void;
}

/** Runs threadScaling makes (for a progress bar). */
export function scalingRuns(o: Pick<ScalingOptions, 'repeats' | 'points'>): number {
  return nginxMissing() ? 0 : 2 * o.repeats * (o.points.length + 1);
}

/**
 * rangepool (an https:// or http:// URL) on 0, 1, 2, ... range threads against nginx with `nginxWorkers`
 * workers, the seed scenario, with raw node:http(s) beside it; points alternate across repeats.
 */
export async function threadScaling(o: ScalingOptions): Promise<string[]> {
  const missing = nginxMissing();
  if (missing) return [`range thread scaling skipped: ${missing}.`];
  return withNginx({ quick: o.quick, workers: o.nginxWorkers }, async ({ nginx, seed }) => {
    const cores = availableParallelism();
    const lines = [`${nginx.version}, ${o.nginxWorkers} worker(s); ${seed.parallel} concurrent downloads of 64 MiB, ${o.partSize / MiB} MiB parts × ${o.concurrency ?? 'adaptive'}; medians of ${o.repeats}; client and server on the same ${cores} cores`];
    for (const tls of [true, false]) {
      const origin = tls ? nginx.https : nginx.http;
      const caEnv: Record<string, string> = tls ? { NODE_EXTRA_CA_CERTS: nginx.caFile } : {};
      const runs = [...o.points.map((threads) => ({ variant: 'g', threads })), { variant: 'e', threads: 0 }];
      const samples = await alternating(runs, o.repeats, async ({ variant, threads }, r) => {
        const opts = { variant, threads, url: origin, ca: tls ? nginx.ca : undefined, key: 'obj', ...seed, partSize: o.partSize, concurrency: o.concurrency, serverPids: nginx.workerPids() };
        const run = await runVariant(opts, caEnv);
        o.tick(`threads ${tls ? 'HTTPS' : 'HTTP'}: ${variant === 'e' ? 'raw node:http(s)' : `${threads} range threads`} (repeat ${r + 1})`);
        return run;
      });
      const rows = runs.map(({ variant, threads }, i) => row(variant === 'e' ? `raw node:${tls ? 'https' : 'http'} (reference)` : `rangepool, threads ${threads}`, samples[i]!));
      const base = rows[0]!;
      lines.push('', `#### ${tls ? 'HTTPS' : 'plain HTTP'}`, '', ...rowsTable(rows));
      for (const [i, r] of rows.entries()) {
        if (i === 0 || i === rows.length - 1) continue;
        lines.push(`- threads ${runs[i]!.threads} / threads ${runs[0]!.threads}: throughput ${fmt(r.throughput / base.throughput)}×, CPU per GiB ${fmt(r.cpuPerGiB / base.cpuPerGiB)}×`);
      }
    }
    return lines;
  });
}
