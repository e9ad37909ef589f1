// The benchmark's measuring child, at a tiny size: it must report what it measured, not just run.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  const opts = { variant, url: server.url, key: 'obj', size: 4 * MiB, parallel: 2, downloads: 4, partSize: MiB, concurrency: 2 };
  const { stdout } = await promisify(execFile)(process.execPath, [...tsArgs('bench/run-variant.ts', '--expose-gc', '--no-warnings'), JSON.stringify(opts)], { cwd: root });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('bench/run-variant.ts', () => {
  it.each(['a', 'b', 'c', 'd', 'e'])('variant %s reports bytes, CPU, RSS and latencies', async (variant) => {
    const r = await measure(variant);
    expect(r.bytes).toBe(16 * MiB);
    expect(r.cpuMs).toBeGreaterThan(0);
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
