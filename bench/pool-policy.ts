// The pool's policy, measured: (a) sequential get() of 4 × 1 GiB, (b) three batches of N × 64 MiB apart
// by a barrier and by a 12 s pause, each with fresh pages faulted in on the threadpool (prefault: true)
// and as bytes land (the default), and with no reuse at all (a fresh block per object, as
// Buffer.allocUnsafe-based clients get). Each run is its own process against the loopback object server
// (its own process too). Prints fresh blocks per phase, GiB/s, CPU s/GiB, the worst event-loop lag and RSS.
// Usage: npm run bench -- --pool-only [--quick]     (or: npx tsx bench/pool-policy.ts [--quick])
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { BufferPool, getObject, release, RangeEngine } from '../src/index.js';
import { root, tsArgs } from '../testing/spawn.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

interface Phase {
  phase: string;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  fresh: number;
  prefaulted: number;
  maxLagMs: number;
  rssMiB: number;
}

/** In the child: one scenario, one configuration; prints one JSON line of phases. */
async function child(url: string, scenario: string, config: string, parallel: number): Promise<void> {
  const pool = new BufferPool({ idlePerClass: config === 'no reuse' ? 0 : undefined, prefault: config === 'prefault', trimAfterMs: 10_000 });
  const engine = new RangeEngine();
  const storeOptions = { endpoint: url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  const phases: Phase[] = [];
  const measure = async (phase: string, fn: () => Promise<number>) => {
    let maxLagMs = 0;
    let last = performance.now();
    const lag = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - last - 10);
      last = now;
    }, 10);
    const s0 = pool.stats();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const bytes = await fn();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(lag);
    const s1 = pool.stats();
    phases.push({ phase, bytes, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, fresh: s1.fresh - s0.fresh, prefaulted: s1.prefaulted - s0.prefaulted, maxLagMs, rssMiB: process.memoryUsage.rss() / MiB });
  };
  const fetch = async (key: string) => {
    const { buffer } = await getObject(`s3://bench/${key}`, { pool, engine, storeOptions, cache: false });
    const n = buffer.length;
    release(buffer);
    return n;
  };
  const batch = async () => (await Promise.all(Array.from({ length: parallel }, () => fetch('obj64')))).reduce((a, b) => a + b, 0);
  const settle = () => new Promise((r) => setTimeout(r, 50)); // released blocks are back at the next turns
  if (scenario === 'a') {
    for (let i = 1; i <= 4; i++) {
      await measure(`get ${i} of 1 GiB`, () => fetch('obj1g'));
      await settle();
    }
  } else {
    await measure('batch 1', batch);
    await settle();
    await measure('batch 2, after a barrier', batch);
    await settle();
    await new Promise((r) => setTimeout(r, 12_000));
    await measure('batch 3, after a 12 s pause', batch);
  }
  console.log(JSON.stringify(phases));
  process.exit(0);
}

async function put(url: string, key: string, size: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request(`${url}/bench/${key}`, { method: 'PUT' }, (res) => res.resume().on('end', () => resolve()));
    req.on('error', reject);
    req.end(randomBytes(size));
  });
}

function runChild(url: string, scenario: string, config: string, parallel: number): Promise<Phase[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...tsArgs('bench/pool-policy.ts', '--no-warnings'), '--child', url, scenario, config, String(parallel)], { cwd: root, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${scenario}/${config}: ${stderr || err.message}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Phase[]),
    );
  });
}

export async function poolPolicy(quick: boolean): Promise<string> {
  const server = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: server.stdout }).once('line', r))) as { url: string };
  const parallel = quick ? 8 : 32;
  try {
    await put(url, 'obj64', 64 * MiB);
    await put(url, 'obj1g', GiB);
    const rows = ['| scenario | pool | phase | fresh blocks | prefaulted | GiB/s | CPU s/GiB | worst event-loop lag ms | RSS MiB |', '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
    for (const [scenario, label] of [['a', 'a. sequential get() of 4 × 1 GiB'], ['b', `b. ${parallel} × 64 MiB batches`]] as const) {
      for (const config of ['default', 'prefault', 'no reuse']) {
        process.stderr.write(`pool policy: ${label}, ${config}\n`);
        for (const p of await runChild(url, scenario, config, parallel)) {
          const gib = p.bytes / GiB;
          rows.push(`| ${label} | ${config} | ${p.phase} | ${p.fresh} | ${p.prefaulted} | ${(gib / (p.wallMs / 1000)).toFixed(2)} | ${(p.cpuMs / 1000 / gib).toFixed(2)} | ${p.maxLagMs.toFixed(0)} | ${p.rssMiB.toFixed(0)} |`);
        }
      }
    }
    return rows.join('\n');
  } finally {
    server.kill('SIGTERM');
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv[1]!, argv[2]!, argv[3]!, Number(argv[4]));
else if (import.meta.url === `file://${process.argv[1]}`) console.log(await poolPolicy(argv.includes('--quick')));
