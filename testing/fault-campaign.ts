// Fault campaign: many downloads from the loopback server while a share of range requests fail in
// every way the server can fail them. Each download must end byte-exact or with a typed error; none
// may come back corrupted, and the pool must end where it started.
// Usage: node --import tsx testing/fault-campaign.ts [--downloads N] [--size BYTES] [--rate 0.1] [--seed N]
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RangeEngine, RangepoolError, defaultPool, getObject, release } from '../src/index.js';
import { startObjectServer, type FaultRule } from './object-server/index.js';

/** One rule per failure kind, each firing on `rate` of the ranged requests (seeded, reproducible). */
export function faultRules(rate: number): FaultRule[] {
  return [
    { kind: 'status', status: 500, probability: rate },
    { kind: 'status', status: 503, probability: rate },
    { kind: 'status', status: 429, probability: rate },
    { kind: 'reset', afterBytes: 10_000, probability: rate },
    { kind: 'short', afterBytes: 5_000, probability: rate },
    { kind: 'wrongRange', shift: 7, probability: rate },
    { kind: 'stall', afterBytes: 1_000, ms: 2_000, probability: rate },
  ];
}

export interface CampaignCounts {
  downloads: number;
  injectedFaults: number;
  retries: number;
  successes: number;
  typedFailures: number;
  untypedFailures: number;
  corrupted: number;
  failuresByCode: Record<string, number>;
  faultsByKind?: Record<string, number>;
  poolInUseDelta?: number;
}

export async function runCampaign({ downloads = 200, size = 4 << 20, rate = 0.05, seed = 1, parallel = 8, partSize = 256 << 10 } = {}) {
  const server = await startObjectServer({ seed });
  const objects = Array.from({ length: 4 }, (_, i) => ({ key: `obj-${i}`, data: randomBytes(size + i * 997) }));
  objects.forEach((o) => server.put('campaign', o.key, o.data));
  server.setFaults(faultRules(rate), seed);
  const engine = new RangeEngine({ partSize, concurrency: 8, stallTimeoutMs: 300, retry: { retries: 6, baseDelayMs: 2, maxDelayMs: 50 } });
  const storeOptions = { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  const pool = defaultPool();
  const startInUse = pool.stats().inUseBytes;
  const counts: CampaignCounts = { downloads, injectedFaults: 0, retries: 0, successes: 0, typedFailures: 0, untypedFailures: 0, corrupted: 0, failuresByCode: {} };
  let next = 0;
  const worker = async () => {
    while (next < downloads) {
      const obj = objects[next++ % objects.length]!;
      try {
        const res = await getObject(`s3://campaign/${obj.key}`, { engine, storeOptions, cache: false });
        counts.retries += res.stats.retries;
        if (res.buffer.equals(obj.data)) counts.successes++;
        else counts.corrupted++;
        release(res.buffer);
      } catch (e) {
        if (e instanceof RangepoolError) {
          counts.typedFailures++;
          counts.failuresByCode[e.code] = (counts.failuresByCode[e.code] ?? 0) + 1;
        } else counts.untypedFailures++;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  counts.injectedFaults = Object.values(server.stats.faults).reduce((a, b) => a + b, 0);
  counts.faultsByKind = { ...server.stats.faults };
  await server.close();
  // Buffers come back at the next turn of the event loop.
  for (let i = 0; i < 100 && pool.stats().inUseBytes !== startInUse; i++) await new Promise((r) => setTimeout(r, 10));
  counts.poolInUseDelta = pool.stats().inUseBytes - startInUse;
  return counts;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { downloads: { type: 'string' }, size: { type: 'string' }, rate: { type: 'string' }, seed: { type: 'string' } } });
  const counts = await runCampaign({
    downloads: Number(values.downloads ?? 2000),
    size: Number(values.size ?? 16 << 20),
    rate: Number(values.rate ?? 0.05),
    seed: Number(values.seed ?? 1),
  });
  console.log(JSON.stringify(counts, null, 2));
  process.exit(counts.corrupted === 0 && counts.untypedFailures === 0 && counts.poolInUseDelta === 0 ? 0 : 1);
}
