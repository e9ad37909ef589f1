// One variant in its own process, so its CPU time, RSS and page faults are its own. Prints one JSON line.
// Usage: node --expose-gc --import tsx bench/run-variant.ts '{"variant":"c","url":...,"key":...,"size":...,"parallel":32,"downloads":64,"partSize":...,"concurrency":8}'
import { machineBusy, machineSample, processCpu } from './proc.js';
import { tlsReadCalls } from '../src/http/connection.js';
import { VARIANTS, type VariantOptions } from './variants.js';

const o = JSON.parse(process.argv[2] ?? '{}') as VariantOptions;
const client = await VARIANTS[o.variant]!.make(o.url, o);

async function round(count: number, onDone: (ms: number) => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < count) {
      const t0 = performance.now();
      const bytes = await client.download(o.key);
      if (bytes !== o.size) throw new Error(`got ${bytes} bytes, expected ${o.size}`);
      onDone(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: o.parallel }, worker));
}

await round(o.parallel, () => {}); // warm-up: pools fill, sockets open, JIT settles
globalThis.gc?.();
const freshBefore = client.freshLarge();
const latencies: number[] = [];
const rss: [number, number][] = [];
let peakRss = 0;
const t0 = performance.now();
const sampleRss = () => {
  const r = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, r);
  rss.push([Math.round(performance.now() - t0), r]);
};
sampleRss();
const sampler = setInterval(sampleRss, 25);
const calls0 = tlsReadCalls.count;
const cpu0 = process.cpuUsage();
const ru0 = process.resourceUsage();
const server0 = processCpu(o.serverPids ?? []);
const machine0 = machineSample();
await round(o.downloads, (ms) => latencies.push(ms));
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const ru = process.resourceUsage();
const serverCpuMs = (processCpu(o.serverPids ?? []) - server0) * 1000;
const busy = machineBusy(machine0, machineSample());
clearInterval(sampler);
sampleRss();
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(
  JSON.stringify({
    variant: o.variant,
    bytes: o.size * o.downloads,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs,
    busy,
    peakRss,
    minorFaults: ru.minorPageFault - ru0.minorPageFault,
    freshLarge: client.freshLarge() - freshBefore,
    tlsReadCalls: tlsReadCalls.count - calls0,
    p50: pct(50),
    p99: pct(99),
    rss,
  }),
);
process.exit(0);
