// The committed Windows prebuild, loaded for real: the native test files run on Node's own Windows build
// under Wine (scripts/wine-test.cjs), with PREBUILDS_ONLY=1 so nothing but prebuilds/win32-x64 can load,
// and the pool tests' first case asserts that the native pool is the one in use.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { runUnderWine, wine64, WINDOWS_NODE } = require('../../scripts/wine-test.cjs');
const wine: string | undefined = process.platform === 'linux' && process.arch === 'x64' ? wine64() : undefined;

// Not under Wine: FIFOs and /proc (the other native files), servers (everything above the pool).
const files = ['test/pool.test.ts', 'test/checksums.test.ts', 'test/native/leak.test.ts', 'test/native/workers.test.ts', 'test/native/views.test.ts', 'test/native/two-copies.test.ts', 'test/native/teardown.test.ts', 'test/native/file-lock.test.ts'];

describe.skipIf(!wine)(`on Windows x64 (${WINDOWS_NODE} under Wine)${wine ? '' : ' (skipped: Wine absent: apt-get install wine64)'}`, () => {
  it.each(files)('%s passes', { timeout: 600_000 }, async (file) => {
    const { status, output } = await runUnderWine(file, wine);
    const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(output)?.[1]);
    if (status !== 0 || count('fail') !== 0) console.error(output);
    expect({ status, fail: count('fail'), cancelled: count('cancelled') }).toEqual({ status: 0, fail: 0, cancelled: 0 });
    expect(count('pass')).toBeGreaterThan(0);
  });
});
