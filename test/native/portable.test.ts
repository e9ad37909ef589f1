// The native sources compile for the platforms this machine does not run, with warnings as errors (the CI
// matrix in .github/workflows/ builds and tests them there): Windows x64 and Linux arm64 with Debian's
// cross g++, macOS arm64 and x64 with zig's clang. Each check needs its toolchain, which a clean machine
// may lack: then its name says so and it is skipped.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = new URL('../..', import.meta.url).pathname;
const have = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};
const gcc = have('x86_64-w64-mingw32-g++-posix') && have('aarch64-linux-gnu-g++');
const zig: boolean = process.platform === 'linux' && process.arch === 'x64' && require('../../scripts/zig.cjs').zigFetched();
const check = (part: string) => execFileSync('bash', ['scripts/check-portable.sh', part], { cwd: root, encoding: 'utf8' });

describe('portable native code', () => {
  it.skipIf(!gcc)(`compiles for Windows x64 (MinGW-w64) and Linux arm64 (g++) without a warning${gcc ? '' : ' (skipped: apt-get install g++-mingw-w64-x86-64 g++-aarch64-linux-gnu)'}`, () => {
    const out = check('gcc');
    expect(out).toContain('ok: x86_64-w64-mingw32-g++-posix');
    expect(out).toContain('ok: aarch64-linux-gnu-g++');
  });

  it.skipIf(!zig)(`compiles for macOS arm64 and x64 (zig c++) without a warning${zig ? '' : ' (skipped: zig not fetched yet; scripts/check-portable.sh zig fetches it)'}`, { timeout: 600_000 }, () => {
    const out = check('zig');
    expect(out).toContain('ok: zig c++ -target aarch64-macos');
    expect(out).toContain('ok: zig c++ -target x86_64-macos');
  });
});
