// Child processes that run TypeScript directly: node with tsx's loader, from the repository's root
// (where `--import tsx` resolves), so tests and the benchmark start the same sources they import.
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Node's arguments to run `file` (relative to the repository root) through tsx, after `flags`. */
export function tsArgs(file: string, ...flags: string[]): string[] {
  return [...flags, '--import', 'tsx', file];
}
