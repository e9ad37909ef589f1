import { totalmem } from 'node:os';
import { invalidArgument } from '../errors.js';
import type { PoolConfig } from './types.js';
import type { PoolOptions } from './types.js';

const MiB = 1024 * 1024;
export const DEFAULT_SIZE_CLASSES = [1, 4, 16, 64, 256].map((n) => n * MiB);
export const DEFAULT_IDLE_PER_CLASS = 1024;
export const DEFAULT_TRIM_AFTER_MS = 10_000;

/** Half of what this process may use: the cgroup limit when there is one, else physical memory. */
export function defaultMaxBytes(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const limit = constrained > 0 && constrained < Number.MAX_SAFE_INTEGER ? Math.min(constrained, totalmem()) : totalmem();
  return Math.floor(limit / 2);
}

function check(ok: boolean, message: string): void {
  if (!ok) throw invalidArgument(message);
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

export function resolveOptions(opts: PoolOptions = {}): PoolConfig {
  const sizeClasses = opts.sizeClasses ?? DEFAULT_SIZE_CLASSES;
  check(
    Array.isArray(sizeClasses) && sizeClasses.every((s, i) => isCount(s) && s > 0 && (i === 0 || s > sizeClasses[i - 1]!)),
    'sizeClasses must be positive integers in ascending order',
  );
  const config: PoolConfig = {
    sizeClasses: [...sizeClasses],
    idlePerClass: opts.idlePerClass ?? DEFAULT_IDLE_PER_CLASS,
    maxBytes: opts.maxBytes ?? defaultMaxBytes(),
    trimAfterMs: opts.trimAfterMs ?? DEFAULT_TRIM_AFTER_MS,
    poison: opts.poison ?? false,
  };
  check(isCount(config.idlePerClass), 'idlePerClass must be a non-negative integer');
  check(isCount(config.maxBytes) && config.maxBytes > 0, 'maxBytes must be a positive integer');
  check(isCount(config.trimAfterMs), 'trimAfterMs must be a non-negative integer (ms)');
  check(typeof config.poison === 'boolean', 'poison must be a boolean');
  return config;
}

/** The default pool's options, from the environment (so a deployment can tune it without code). */
export function optionsFromEnv(env = process.env): PoolOptions {
  const num = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    check(Number.isSafeInteger(n), `${name} must be an integer, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    maxBytes: num('RANGEPOOL_MAX_BYTES'),
    idlePerClass: num('RANGEPOOL_IDLE_PER_CLASS'),
    trimAfterMs: num('RANGEPOOL_TRIM_AFTER_MS'),
    poison: env.RANGEPOOL_POISON === '1' ? true : undefined,
  };
}
