import { invalidArgument } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, ki: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
};

/** "8MiB", "8M" and "8Mi" are binary (as rclone reads them), "8MB" decimal, "8388608" bytes. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Number(m[1]) * unit : NaN;
  // A fraction is fine when it makes whole bytes (1.5MiB), never rounded into some other size (1.5 bytes).
  if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument(`${what} must be a positive whole number of bytes like 8MiB, got ${JSON.stringify(text)}`);
  return n;
}

export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}
