// How closely maxBytesPerSecond (the CLI's --limit-rate) holds: a download capped to last about 4 s, the bytes
// of each second of it, on the calling thread, on range threads and through the SDK, from the loopback object
// server in its own process. Not part of npm run bench.
// Usage: node --import tsx bench/rate-cap.ts [BYTES_PER_SECOND]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { RangeEngine, get, release } from '../src/index.js';
import { root, tsArgs } from '../testing/spawn.js';

const MiB = 1 << 20;
const rate = Number(process.argv[2] ?? 16 * MiB);
const size = rate * 4;
const server = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: server.stdout! }).once('line', r))) as { url: string };
const put = await fetch(`${url}/b/o`, { method: 'PUT', body: randomBytes(size) });
if (!put.ok) throw new Error(`PUT: HTTP ${put.status}`);

for (const [name, threads, transport] of [['calling thread', 0, 'direct'], ['2 range threads', 2, 'direct'], ['SDK', 0, 'sdk']] as const) {
  const engine = new RangeEngine({ maxBytesPerSecond: rate, threads, partSize: 4 * MiB });
  const storeOptions = { endpoint: url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, transport };
  const started = performance.now();
  const perSecond: number[] = [];
  const buf = await get('s3://b/o', {
    engine,
    storeOptions,
    cache: false,
    onProgress: (p) => {
      const s = Math.floor((performance.now() - started) / 1000);
      perSecond[s] = p.bytes;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  release(buf);
  const each = perSecond.map((b, i) => (b - (perSecond[i - 1] ?? 0)) / rate);
  console.log(`${name}: ${(size / MiB).toFixed(0)} MiB capped at ${(rate / MiB).toFixed(1)} MiB/s in ${seconds.toFixed(2)} s (${((size / seconds / rate) * 100).toFixed(0)} % of the cap); each second: ${each.map((x) => `${(x * 100).toFixed(0)} %`).join(', ')}`);
}
server.kill('SIGTERM');
process.exit(0);
