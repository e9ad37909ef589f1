// Every way a process or worker can end while pooled buffers are alive must end cleanly.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/teardown.mjs', import.meta.url));

async function child(mode: string) {
  const { stdout, stderr } = await run(process.execPath, [fixture, mode], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  return { report: JSON.parse(lines[lines.length - 1]!), stderr };
}

const MiB = 1 << 20;
const mainBlocks = MiB + 16 * MiB + 320 * MiB; // 1 MiB and 16 MiB classes, 300 MiB in a large block of 5 × 64 MiB

describe('teardown with live pooled buffers', () => {
  it('process.exit() with live buffers exits 0', async () => {
    const { report, stderr } = await child('process-exit');
    expect(report.native).toBe(true);
    expect(report.inUseBytes).toBe(mainBlocks);
    expect(stderr).toBe('');
  });

  it('a natural exit with buffers still referenced exits 0', async () => {
    const { report, stderr } = await child('natural-exit');
    expect(report.inUseBytes).toBe(mainBlocks);
    expect(stderr).toBe('');
  });

  it('released buffers are back before exit', async () => {
    const { report } = await child('released-then-exit');
    expect(report).toMatchObject({ inUseBytes: 0, returned: 3, idleBytes: mainBlocks }); // all kept: each was the peak of its list
  });

  it.each(['worker-exit', 'worker-terminate'])('%s: the worker thread returns its live blocks as it goes', async (mode) => {
    const { report, stderr } = await child(mode);
    expect(report.inUseWhileWorkerHeld).toBe(report.mainInUse + 3 * 4 * MiB);
    expect(report.inUseBytes).toBe(report.mainInUse);
    expect(report.returned).toBe(3);
    expect(stderr).toBe('');
  });

  it('a worker terminated in the middle of a native call never takes the process down', async () => {
    // Before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: 'libc++abi: terminating due to uncaught exception of type Napi::Error'.
    const { report, stderr } = await child('terminate-in-native-call');
    expect(report.terminated).toBe(20);
    expect(stderr).toBe('');
  });

  it('process.exit() while an acquire waits for the cap exits 0', async () => {
    const { report } = await child('abort-pending');
    expect(report.held).toBe(MiB);
  });
});
