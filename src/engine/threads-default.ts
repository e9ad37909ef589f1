// How many range threads an engine starts when not told: RANGEPOOL_THREADS, else from the cores.
import { availableParallelism } from 'node:os';
import { invalidArgument, printable } from '../errors.js';

/**
 * RANGEPOOL_THREADS when set; else 0 on up to 4 cores and half the cores beyond (at most 8). Threads pay
 * where one core is the limit (TLS decryption: about 0.7 GiB/s per core against nginx); on few cores the
 * server, the kernel's copies and the caller's own work share them, and threads mostly add their own
 * cost (measured on 2 cores: 12-26 % more CPU per GiB; bench/results/threads.md).
 */
export function defaultThreads(): number {
  const env = process.env.RANGEPOOL_THREADS;
  if (env !== undefined && env.trim() !== '') {
    if (!/^\d{1,3}$/.test(env.trim())) throw invalidArgument(`RANGEPOOL_THREADS must be a whole number of threads, got ${printable(JSON.stringify(env))}`);
    return Number(env.trim());
  }
  const cores = availableParallelism();
  return cores <= 4 ? 0 : Math.min(8, Math.floor(cores / 2));
}
