// How long an abort takes to reject get()/getRange() under faults (issue 35, item 12), with and without
// range threads: p50/p90/max of abort() → rejection over N downloads of a 32 MiB object, PARALLEL at once,
// each aborted at a random time, from the loopback object server in its own process (16 MiB/s per
// connection, a quarter of the requests faulted), and the main thread's event-loop delay beside it (a
// rejection cannot come sooner than the loop turns). Not part of npm run bench.
// Usage: RANGEPOOL_THREADS=2 MODE=range|get PARALLEL=8 node --import tsx bench/abort-latency.ts [N]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { RangeEngine, get, getRange, release } from '../src/index.js';
import { faultRules } from '../testing/fault-campaign.js';
import { root, tsArgs } from '../testing/spawn.js';

const n = Number(process.argv[2] ?? 160);
const parallel = Number(process.env.PARALLEL ?? 8);
const server = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: server.stdout! }).once('line', r))) as { url: string };
const send = async (method: string, path: string, body: Buffer | string) => {
  const res = await fetch(`${url}${path}`, { method, body });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
};
await send('PUT', '/b/o', randomBytes(32 << 20));
await send('POST', '/_control/faults', JSON.stringify({ rules: faultRules(0.25), seed: 3 }));
await send('POST', '/_control/shape', JSON.stringify({ connectionRate: 16 << 20 }));

const engine = new RangeEngine({ partSize: 1 << 20, stallTimeoutMs: 300, retry: { retries: 6, baseDelayMs: 2, maxDelayMs: 50 } });
const storeOptions = { endpoint: url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
const ms: number[] = [];
let next = 0;
const worker = async () => {
  for (let i = next++; i < n; i = next++) {
    const ac = new AbortController();
    const opts = { engine, storeOptions, signal: ac.signal, cache: false };
    const p = process.env.MODE === 'range' ? getRange('s3://b/o', 1000, 20 << 20, opts) : get('s3://b/o', opts);
    let at = 0;
    setTimeout(() => ((at = performance.now()), ac.abort()), 20 + Math.random() * 200);
    await p.then(release, () => at && ms.push(performance.now() - at));
  }
};
await Promise.all(Array.from({ length: parallel }, worker));
ms.sort((a, b) => a - b);
const q = (f: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * f))]!.toFixed(1);
console.log(`threads ${process.env.RANGEPOOL_THREADS ?? 'default'}, ${process.env.MODE ?? 'get'}, ${parallel} at once: ${ms.length} aborts, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
console.log(`  main thread's event-loop delay: p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`);
server.kill('SIGTERM');
process.exit(0);
