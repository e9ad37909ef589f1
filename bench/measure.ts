// Running one measured variant in its own process (bench/run-variant.ts) and the statistics every table uses.
import { execFile } from 'node:child_process';
import { root, tsArgs } from '../testing/spawn.js';
import { COMMAND_TIMEOUT_MS } from './peers.js';
import type { VariantOptions } from './variants.js';

/** What run-variant.ts prints. */
export interface Run {
  variant: string;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  /** CPU of the server's processes (VariantOptions.serverPids) over the measured round. */
  serverCpuMs: number;
  /** Share of all cores busy over the measured round (0–1). */
  busy?: number;
  peakRss: number;
  minorFaults: number;
  freshLarge: number;
  /** Calls into JavaScript that delivered bytes of https: responses (rangepool's reader only). */
  tlsReadCalls?: number;
  p50: number;
  p99: number;
  rss: [number, number][];
}

/**
 * Runs every item `repeats` times, the order reversed every other repeat so that no item always runs
 * first (or last) on a warming machine. Returns each item's samples, in the items' order.
 */
export async function alternating<T, S>(items: readonly T[], repeats: number, run: (item: T, repeat: number) => Promise<S>): Promise<S[][]> {
  const samples: S[][] = items.map(() => []);
  for (let r = 0; r < repeats; r++) {
    const order = items.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) samples[i]!.push(await run(items[i]!, r));
  }
  return samples;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One variant in its own process (`env` adds to this process's environment). */
export function runVariant(opts: VariantOptions, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...tsArgs('bench/run-variant.ts', '--expose-gc', '--no-warnings'), JSON.stringify(opts)], { cwd: root, maxBuffer: 64 << 20, env: { ...process.env, ...env }, timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`variant ${opts.variant} failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Run);
    });
  });
}
