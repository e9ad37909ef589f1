// A file system of a test's own (a small tmpfs, a ramfs), mounted on a fresh folder; or why it cannot be
// (not root, no mount(8)), for the test to skip saying so.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where it is mounted, or why it is not (then `at` is empty and `unmount` does nothing). */
export interface ScratchMount {
  at: string;
  cannot?: string | undefined;
  unmount: () => void;
}

/** Mounts `type` (with mount(8)'s `-o options`, if any) on a new folder; `what` names it in the reason it cannot. */
export function scratchMount(type: string, what: string, options?: string): ScratchMount {
  const at = mkdtempSync(join(tmpdir(), `rangepool-${type}-`));
  try {
    execFileSync('mount', ['-t', type, ...(options ? ['-o', options] : []), type, at], { stdio: 'pipe' });
  } catch (e) {
    rmSync(at, { recursive: true, force: true });
    return { at: '', unmount: () => {}, cannot: `${what} could not be mounted (root and mount(8) are needed): ${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0]}` };
  }
  return {
    at,
    unmount: () => {
      execFileSync('umount', [at]);
      rmSync(at, { recursive: true, force: true });
    },
  };
}
