// The native sources compile for Windows x64 and Linux arm64 with warnings as errors (this machine runs
// neither; the CI matrix in .github/workflows/ builds and tests them). Needs the cross compilers, which a
// clean machine may lack: then it says so and skips.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const have = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};
const toolchains = have('x86_64-w64-mingw32-g++-posix') && have('aarch64-linux-gnu-g++');

describe('portable native code', () => {
  it.skipIf(!toolchains)('compiles for Windows x64 (MinGW-w64) and Linux arm64 without a warning', () => {
    const out = execFileSync('bash', ['scripts/check-portable.sh'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('ok: x86_64-w64-mingw32-g++-posix');
    expect(out).toContain('ok: aarch64-linux-gnu-g++');
  });
});
