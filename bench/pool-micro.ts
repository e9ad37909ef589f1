// Micro-benchmark of the pool alone: acquire+release cost per operation, and how fast a 64 MiB buffer
// can be filled when it is fresh (Buffer.allocUnsafe: new pages, page faults) vs a reused pooled block.
// Usage: node --expose-gc --import tsx bench/pool-micro.ts [--quick]
import { BufferPool } from '../src/index.js';

const MiB = 1 << 20;
const quick = process.argv.includes('--quick');
const turn = () => new Promise<void>((r) => setImmediate(r));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function perOp(label: string, n: number, once: (i: number) => Promise<void>) {
  for (let i = 0; i < n / 10; i++) await once(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  return { label, 'ns/op': Math.round(ns) };
}

async function fill(label: string, rounds: number, take: () => Promise<Buffer>, give: (b: Buffer) => void) {
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const buf = await take();
    buf.fill(i & 0xff);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    give(buf);
    globalThis.gc?.();
    await turn();
  }
  const m = median(ms);
  return { label, 'median ms': +m.toFixed(2), 'GiB/s': +((64 / 1024) / (m / 1000)).toFixed(2) };
}

const n = quick ? 20_000 : 200_000;
const native = new BufferPool({ trimAfterMs: 0 });
const js = new BufferPool({ trimAfterMs: 0, implementation: 'js' });
// Each op turns the event loop once, as happens between real downloads (finalizers run at setImmediate).
const cycle = (pool: BufferPool) => async () => {
  pool.release(await pool.acquire(MiB));
  await turn();
};
console.log(`acquire+release of 1 MiB, ${n} ops, one event-loop turn each (the turn alone is the floor):`);
console.table([
  await perOp('event-loop turn only', n, turn),
  await perOp('native pool', n, cycle(native)),
  await perOp('JS fallback pool', n, cycle(js)),
  await perOp('Buffer.allocUnsafe (GC frees)', n, async () => {
    Buffer.allocUnsafe(MiB)[0] = 1;
    await turn();
  }),
]);

const rounds = quick ? 10 : 40;
console.log(`fill a 64 MiB buffer, ${rounds} rounds (take + fill time):`);
const rows = [
  await fill('fresh Buffer.allocUnsafe', rounds, async () => Buffer.allocUnsafe(64 * MiB), () => {}),
  await fill('native pool (reused block)', rounds, () => native.acquire(64 * MiB), (b) => native.release(b)),
  await fill('JS fallback pool (reused)', rounds, () => js.acquire(64 * MiB), (b) => js.release(b)),
];
console.table(rows);
console.log(`pooled/fresh speed-up: ${(rows[0]!['median ms'] / rows[1]!['median ms']).toFixed(1)}x`);
console.log('native pool stats:', native.stats());
