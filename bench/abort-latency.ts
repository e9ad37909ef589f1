// How long an abort takes to reject get()/getRange() under faults (issue 35, item 12), with and without
// range threads. Prints p50/p90/max of abort() → rejection over N downloads of a 32 MiB object from the
// loopback server (16 MiB/s per connection, a quarter of the requests faulted). Not part of npm run bench.
// Usage: RANGEPOOL_THREADS=2 MODE=range|get node --import tsx bench/abort-latency.ts [N]
import { randomBytes } from 'node:crypto';
import { RangeEngine, get, getRange, release } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { faultRules } from '../testing/fault-campaign.js';

const n = Number(process.argv[2] ?? 80);
const server = await startObjectServer({ seed: 3 });
server.put('b', 'o', randomBytes(32 << 20));
server.setFaults(faultRules(0.25), 3);
server.setShape({ connectionRate: 16 << 20 });
const engine = new RangeEngine({ partSize: 1 << 20, stallTimeoutMs: 300, retry: { retries: 6, baseDelayMs: 2, maxDelayMs: 50 } });
const storeOptions = { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
const ms: number[] = [];
for (let i = 0; i < n; i++) {
  const ac = new AbortController();
  const opts = { engine, storeOptions, signal: ac.signal, cache: false };
  const p = process.env.MODE === 'range' ? getRange('s3://b/o', 1000, 20 << 20, opts) : get('s3://b/o', opts);
  let at = 0;
  setTimeout(() => ((at = performance.now()), ac.abort()), 20 + Math.random() * 200);
  await p.then(release, () => at && ms.push(performance.now() - at));
}
ms.sort((a, b) => a - b);
const q = (f: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * f))]!.toFixed(1);
console.log(`threads ${process.env.RANGEPOOL_THREADS ?? 'default'}, ${process.env.MODE ?? 'get'}: ${ms.length} aborts, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms`);
await server.close();
process.exit(0);
