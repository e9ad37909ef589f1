// The benchmark's measuring child, at a tiny size: it must report what it measured, not just run.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availablePeers, ceiling, parseOpensslSpeed, row, rowsTable, targets } from '../bench/against-nginx.js';
import { makeCertificate, nginxConfig, nginxMissing, startNginx } from '../testing/nginx.js';
import { CLI_PEERS, findProgram, gnuTime, measureCommand } from '../bench/peers.js';
import { machineBusy, machineSample, parseGnuTime, parseMachineStat, parseProcStat, processCpu } from '../bench/proc.js';
import { getObject, RangeEngine } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { root, tsArgs } from '../testing/spawn.js';

const MiB = 1 << 20;
let server: Awaited<ReturnType<typeof startObjectServer>>;
beforeAll(async () => {
  server = await startObjectServer();
  server.put('bench', 'obj', Buffer.alloc(4 * MiB, 7));
});
afterAll(() => server.close());

// Asynchronous: the server lives in this process and must keep answering.
async function measure(variant: string) {
  const opts = { variant, url: server.url, key: 'obj', size: 4 * MiB, parallel: 2, downloads: 4, partSize: MiB, concurrency: 2, serverPids: [process.pid] };
  const { stdout } = await promisify(execFile)(process.execPath, [...tsArgs('bench/run-variant.ts', '--expose-gc', '--no-warnings'), JSON.stringify(opts)], { cwd: root });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('bench/run-variant.ts', () => {
  it.each(['a', 'b', 'c', 'd', 'e', 'g', 'h', 'i'])('variant %s reports bytes, CPU, RSS, latencies and the server\'s CPU', async (variant) => {
    const r = await measure(variant);
    expect(r.bytes).toBe(16 * MiB);
    expect(r.cpuMs).toBeGreaterThan(0);
    expect(r.serverCpuMs).toBeGreaterThanOrEqual(0); // this process served the bytes
    // How busy the machine was, where /proc/stat moved on during the run (it counts in 10 ms ticks).
    if (r.busy !== undefined) expect(r.busy).toBeGreaterThanOrEqual(0);
    if (r.busy !== undefined) expect(r.busy).toBeLessThanOrEqual(1);
    expect(r.peakRss).toBeGreaterThan(10 * MiB);
    expect(r.p99).toBeGreaterThanOrEqual(r.p50);
    if (variant === 'c' || variant === 'd') expect(r.freshLarge).toBe(0); // pooled: nothing fresh after warm-up
    if (variant === 'b') expect(r.freshLarge).toBe(4); // unpooled: one fresh block per download
  });
});

describe('bench/run-many.ts', () => {
  const run = async (variant: string) => {
    for (let i = 0; i < 6; i++) server.put('bench', `many/${i}`, Buffer.alloc(2 * MiB, i));
    const opts = { variant, url: server.url, prefix: 'many/', count: 6, size: 2 * MiB, objects: 2, tmp: tmpdir() };
    const { stdout } = await promisify(execFile)(process.execPath, [...tsArgs('bench/run-many.ts', '--expose-gc', '--no-warnings'), JSON.stringify(opts)], { cwd: root });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  };

  it.each(['getMany-pool', 'getMany-fresh', 'sdk', 'cli-pool'])('%s reports bytes, CPU, RSS over time and fresh allocations', async (variant) => {
    const r = await run(variant);
    expect(r.bytes).toBe(6 * 2 * MiB);
    expect(r.cpuMs).toBeGreaterThan(0);
    expect(r.rss.length).toBeGreaterThan(0);
    expect(r.peakRss).toBeGreaterThan(10 * MiB);
    if (variant === 'getMany-pool') expect(r.freshAfterWarmup).toBe(0); // the warm blocks are reused
    if (variant === 'getMany-fresh' || variant === 'sdk') expect(r.fresh).toBe(6); // one per object
  });
});

describe('bench/proc.ts: figures read from /proc and GNU time', () => {
  it('takes utime + stime from a /proc/PID/stat line whose name holds spaces and parentheses', () => {
    const line = '4242 (nginx: worker (x) process) S 4241 4241 4241 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 123 456 789';
    expect(parseProcStat(line)).toBeCloseTo(2.87, 5); // (250 + 37) ticks at 100 per second
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc\/PID\/stat line/);
  });

  it('reads this process and the machine from /proc', () => {
    const spin = Date.now() + 50;
    while (Date.now() < spin); // at least a few ticks of CPU
    expect(processCpu([process.pid])).toBeGreaterThan(0);
    expect(processCpu([2 ** 30])).toBe(0); // no such process
    const before = machineSample();
    const after = machineSample();
    expect(machineBusy(before, { busy: before!.busy + 50, total: before!.total + 200 })).toBe(0.25);
    expect(machineBusy(after, before)).toBeUndefined(); // time never runs backwards
  });

  it('counts idle and iowait as not busy', () => {
    expect(parseMachineStat('cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3\n')).toEqual({ busy: 160, total: 1000 });
    expect(() => parseMachineStat('intr 1 2 3')).toThrow();
  });

  it("parses GNU time's last line (a command's own stderr may come before it)", () => {
    expect(parseGnuTime('warning: something\n1.52 0.30 0.91 188076\n')).toEqual({ wallS: 1.52, cpuS: 1.21, peakRssBytes: 188076 * 1024 });
    expect(() => parseGnuTime('Command exited with non-zero status 1\n')).toThrow(/not GNU time output/);
  });

  it("parses openssl speed's 16 KiB figure", () => {
    const out = 'The \'numbers\' are in 1000s of bytes per second processed.\ntype          16384 bytes\nAES-128-GCM    6032164.03k\n';
    expect(parseOpensslSpeed(out)).toBeCloseTo(6032164030, 0);
    expect(parseOpensslSpeed('no such cipher')).toBeUndefined();
  });
});

describe('bench/against-nginx.ts: tables, targets and the ceiling', () => {
  const sample = (gibPerS: number, cpuPerGiB: number) => ({ bytes: 1 << 30, wallMs: 1000 / gibPerS, cpuMs: cpuPerGiB * 1000, serverCpuMs: 500, peakRss: 100 * MiB, busy: 0.9 });

  it('rows are medians; a missed target says so', () => {
    const g = row('g', [sample(1, 1), sample(2, 1.2), sample(3, 0.5)]);
    expect(g).toMatchObject({ throughput: 2, cpuPerGiB: 1, serverCpuPerGiB: 0.5, peakRssMiB: 100, busy: 0.9 });
    const e = row('e', [sample(1, 2)]);
    const a = row('a', [sample(1, 5)]);
    const lines = targets(true, { g, e, a }, { rangepool: row('r', [sample(1, 1)]), curl: row('curl', [sample(2, 0.5)]) });
    expect(lines).toContain('HTTPS: rangepool (URL) / raw node:https throughput: 2.00× (target ≥ 2.5×) **missed**');
    expect(lines).toContain('HTTPS: rangepool (URL) / raw node:https CPU per GiB: 0.50× (target ≤ 0.7×) met');
    expect(lines).toContain('HTTPS: rangepool (URL) / the SDK throughput: 2.00× (target ≥ 4×) **missed**');
    expect(lines).toContain('HTTPS, one object: rangepool get / curl throughput: 0.50× (target ≥ 1×) **missed**');
    expect(targets(false, { g, e }, {})).toEqual(['HTTP: rangepool (URL) / raw node:http throughput: 2.00× (target ≥ 3×) **missed**']);
    expect(rowsTable([g])[2]).toBe('| g | 2.00 | 1.00 | 0.50 | 100 | 90 % |');
  });

  it("the native TLS rows: against the same client on Node's TLS, and JavaScript calls per GiB", () => {
    const g = row('g', [{ ...sample(2, 0.6), tlsReadCalls: 600 }]);
    const j = row('j', [{ ...sample(1, 1), tlsReadCalls: 65_600 }]);
    const lines = targets(true, { g, j }, {});
    expect(lines).toEqual([
      "HTTPS: native TLS / Node's TLS (g / j) CPU per GiB: 0.60× (target ≤ 0.7×) met",
      "HTTPS: native TLS / Node's TLS (g / j) throughput: 2.00× (target ≥ 1.25×) met",
      "HTTPS: JavaScript calls per GiB of TLS bytes 600 (target ≤ 1,000) met; on Node's TLS 65600",
    ]);
    expect(rowsTable([g, j])[0]).toMatch(/JS calls per GiB of TLS bytes \|$/);
    expect(rowsTable([g, j])[3]).toBe('| j | 1.00 | 1.00 | 0.50 | 100 | 90 % | 65600 |');
    expect(rowsTable([row('e', [sample(1, 2)])])[0]).not.toMatch(/JS calls/); // a table without such rows has no such column
  });

  it('the ceiling: cores over what the server and decryption alone cost per GiB', () => {
    const lines = ceiling(2 ** 30, 0.75, 0.1, 2); // 1 GiB/s AES: 1 s/GiB of decryption
    expect(lines[2]).toMatch(/no client can pass about 1\.14 GiB\/s/); // 2 / (0.75 + 1)
    expect(ceiling(undefined, undefined, undefined, 2)).toEqual([]);
  });

  it('a peer that is not installed is skipped with how to install it', () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'empty-path-'));
    try {
      const { run, skipped } = availablePeers(['curl', 'aria2c', 'rangepool']);
      expect(run).toEqual(gnuTime() ? ['rangepool'] : []); // rangepool runs on this very node
      if (gnuTime()) expect(skipped).toEqual(['curl skipped: not installed (apt-get install curl)', 'aria2c skipped: not installed (apt-get install aria2)']);
    } finally {
      process.env.PATH = path;
    }
  });

  it('findProgram looks on PATH, then in the extra directories, and asks accept()', () => {
    const dir = mkdtempSync(join(tmpdir(), 'peers-'));
    writeFileSync(join(dir, 'fakepeer'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(dir, 'notexec'), '', { mode: 0o644 });
    expect(findProgram('fakepeer', [], undefined, dir)).toBe(join(dir, 'fakepeer'));
    expect(findProgram('fakepeer', [dir], undefined, '')).toBe(join(dir, 'fakepeer'));
    expect(findProgram('fakepeer', [], () => false, dir)).toBeUndefined();
    expect(findProgram('notexec', [], undefined, dir)).toBeUndefined();
  });
});

describe.skipIf(!gnuTime() || !findProgram('curl'))(`bench/peers.ts: a command measured${gnuTime() && findProgram('curl') ? '' : ' (skipped: needs GNU time and curl: apt-get install time curl)'}`, () => {
  it("curl's run: the file's bytes, CPU and peak RSS, and a short file is an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'measure-'));
    const output = join(dir, 'out');
    const { args } = CLI_PEERS.curl!.command({ url: `${server.url}/bench/obj`, s3: { uri: 's3://bench/obj', endpoint: server.url }, output });
    const r = await measureCommand(findProgram('curl')!, args, { output, bytes: 4 * MiB, serverPids: () => [process.pid] });
    expect(r).toMatchObject({ bytes: 4 * MiB });
    expect(r.peakRss).toBeGreaterThan(MiB);
    expect(r.serverCpuMs).toBeGreaterThanOrEqual(0);
    expect(existsSync(output)).toBe(false); // removed after it was counted
    await expect(measureCommand(findProgram('curl')!, args, { output, bytes: 4 * MiB + 1 })).rejects.toThrow(/wrote 4194304 bytes, expected 4194305/);
  });
});

const nginxAbsent = nginxMissing();
describe.skipIf(nginxAbsent)(`bench/nginx.ts: nginx as the benchmark runs it${nginxAbsent ? ` (skipped: ${nginxAbsent})` : ''}`, () => {
  const config = { prefix: '/p', root: '/srv/www', httpPort: 8080, httpsPort: 8443, cert: '/p/cert.pem', key: '/p/key.pem', workers: 3 };

  it('the generated config is what the benchmark says it is, and nginx itself accepts it', async () => {
    const text = nginxConfig(config);
    for (const line of ['daemon off;', 'worker_processes 3;', 'access_log off;', 'listen 127.0.0.1:8080;', 'listen 127.0.0.1:8443 ssl;', 'ssl_protocols TLSv1.3;', 'root /srv/www;']) expect(text).toContain(line);
    const dir = mkdtempSync(join(tmpdir(), 'nginx-conf-'));
    const { cert, key } = await makeCertificate(dir, findProgram('openssl')!);
    const conf = join(dir, 'nginx.conf');
    mkdirSync(join(dir, 'tmp'));
    writeFileSync(conf, nginxConfig({ ...config, prefix: dir, root: dir, cert, key }));
    const { stderr } = await promisify(execFile)(findProgram('nginx', ['/usr/sbin'])!, ['-t', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')]);
    expect(stderr).toMatch(/test is successful/);
  });

  it('serves an object that rangepool reads exactly over HTTPS (a URL) and HTTP (s3://), in many ranges pinned to its ETag', async () => {
    const base = mkdtempSync(join(tmpdir(), 'nginx-'));
    chmodSync(base, 0o755);
    mkdirSync(join(base, 'www', 'bench'), { recursive: true });
    const data = randomBytes(5 * MiB + 3);
    writeFileSync(join(base, 'www', 'bench', 'obj'), data, { mode: 0o644 });
    const nginx = await startNginx({ root: join(base, 'www'), prefix: join(base, 'nginx') });
    try {
      expect(nginx.workerPids()).toHaveLength(1);
      const engine = new RangeEngine({ partSize: MiB, concurrency: 4 });
      const viaUrl = await getObject(`${nginx.https}/bench/obj`, { engine, storeOptions: { tls: { ca: nginx.ca } } });
      expect(viaUrl.buffer.equals(data)).toBe(true);
      expect(viaUrl.stats.ranges).toBe(6);
      const etag = viaUrl.meta.etag!;
      expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/); // nginx's strong ETag: mtime-size
      viaUrl[Symbol.dispose]();
      // A new version (another mtime, so another ETag): a read pinned to the old one is refused by nginx.
      writeFileSync(join(base, 'www', 'bench', 'obj'), data);
      utimesSync(join(base, 'www', 'bench', 'obj'), new Date(), new Date(Date.now() + 5000));
      await expect(getObject(`${nginx.https}/bench/obj`, { engine, ifMatch: etag, cache: false, storeOptions: { tls: { ca: nginx.ca } } })).rejects.toMatchObject({ code: 'PreconditionFailed' });
      const viaS3 = await getObject('s3://bench/obj', { engine, storeOptions: { endpoint: nginx.http, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } } });
      expect(viaS3.buffer.equals(data)).toBe(true);
      viaS3[Symbol.dispose]();
    } finally {
      await nginx.stop();
    }
    expect(nginx.workerPids()).toEqual([]);
  });
});
