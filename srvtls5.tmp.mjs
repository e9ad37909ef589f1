import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { request } from 'node:https';
const child = spawn(process.execPath, ['bench/object-server-main.js', '--tls'], { stdio: ['pipe', 'pipe', 'inherit'] });
const info = JSON.parse(await new Promise((r) => createInterface({ input: child.stdout }).once('line', r)));
await new Promise((resolve, reject) => { const req = request(`${info.url}/bench/obj`, { method: 'PUT', ca: info.ca }, (res) => res.resume().on('end', resolve)); req.on('error', reject); req.end(Buffer.alloc(64 << 20, 3)); });
for (let i = 0; i < 4; i++) {
  try {
  const out = execFileSync(process.execPath, ['--expose-gc', '--no-warnings', '--import', './instr.tmp.mjs', 'bench/run-variant.js', JSON.stringify({ variant: 'c', url: info.url, ca: info.ca, key: 'obj', size: 64 << 20, parallel: 32, downloads: 32, partSize: 16 << 20, concurrency: 8 })], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_DEBUG: 'rangepool' } }).toString();
  const r = JSON.parse(out.trim().split('\n').pop());
  console.log((r.bytes / 2 ** 30 / (r.wallMs / 1000)).toFixed(2), 'GiB/s');
  } catch (e) { console.log('failed'); }
}
child.kill(); process.exit(0);
