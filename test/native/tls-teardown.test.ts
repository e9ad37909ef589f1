// The native reader (TLS, and plain HTTP) at every end of a thread or process: no crash, no write into
// memory the pool has taken back, no event loop kept alive by an idle connection.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/tls-teardown.mjs', import.meta.url));

async function child(mode: string, scheme: string) {
  // Plain HTTP reads through the addon only when asked (RANGEPOOL_NATIVE_HTTP=1).
  const env = { ...process.env, RANGEPOOL_NATIVE_HTTP: '1' };
  const { stdout, stderr } = await run(process.execPath, [fixture, mode, scheme], { timeout: 30_000, env });
  const lines = stdout.trim().split('\n');
  return { report: JSON.parse(lines[lines.length - 1]!), stderr };
}

describe.each(['https', 'http'])('the native reader at teardown (%s)', (scheme) => {
  it('a worker terminated while its body is being read into a pooled block: the block comes back and is never written again', async () => {
    const { report, stderr } = await child('worker-terminate', scheme);
    expect(report).toMatchObject({ native: true, path: 'native', held: 64 << 20, back: true, intact: true });
    expect(stderr).toBe('');
  });

  it('process.exit() mid-body exits 0', async () => {
    const { report, stderr } = await child('exit-mid-body', scheme);
    expect(report.path).toBe('native');
    expect(report.got).toBeGreaterThanOrEqual(1 << 20);
    expect(stderr).toBe('');
  });

  it('an idle, unreferenced kept-alive connection lets the process exit by itself', async () => {
    const { report, stderr } = await child('idle-exit', scheme); // (a hang here is the execFile timeout)
    expect(report).toMatchObject({ n: 100_000, path: 'native', reusable: true });
    expect(stderr).toBe('');
  });
});
