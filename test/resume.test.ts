// download() and `rangepool get` continuing what an interrupted run left: a killed process (kill -9),
// an interrupt, an abort. Only the same object at the same version is continued (the missing ranges are
// pinned to it); a leftover whose writer still runs, or a symlink planted at its name, is never used.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RangeEngine, download } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';

const MiB = 1 << 20;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const big = randomBytes(24 * MiB + 7);
let server: Awaited<ReturnType<typeof startObjectServer>>;
let storeOptions: { endpoint: string; credentials: typeof credentials };
let dir: string;
const engine = new RangeEngine({ partSize: MiB, stallTimeoutMs: 500, retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 5 } });

const tmpOf = (path: string) => join(path, '..', `.${path.split('/').pop()}.rangepool-tmp`);
// The state is its JSON, then a line with the JSON's digest.
const stateOf = (path: string) => JSON.parse(readFileSync(`${tmpOf(path)}.state`, 'utf8').split('\n')[0]!) as { pid: number; done: Array<[number, number]> };
const doneBytes = (path: string) => {
  try {
    return stateOf(path).done.reduce((n, [s, e]) => n + e - s, 0);
  } catch {
    return 0;
  }
};
const until = async (what: () => boolean, why: string) => {
  for (let i = 0; i < 400 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!what()) throw new Error(`timed out waiting for ${why}`);
};

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  server = await startObjectServer({ seed: 11 });
  server.put('b', 'big', big);
  storeOptions = { endpoint: server.url, credentials };
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rangepool-resume-'));
  server.setFaults([]);
  server.setShape({});
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('download() with resume', () => {
  it('an aborted download keeps what it wrote; the next one fetches only the rest, exactly', async () => {
    const out = join(dir, 'big.bin');
    const ac = new AbortController();
    const first = download('s3://b/big', out, { storeOptions, engine, resume: true, signal: ac.signal, onProgress: (p) => p.bytes > 6 * MiB && ac.abort() });
    await expect(first).rejects.toMatchObject({ code: 'Aborted' });
    expect(existsSync(out)).toBe(false);
    const kept = doneBytes(out);
    expect(kept).toBeGreaterThan(6 * MiB);
    const sent = server.stats.bytesSent;
    const r = await download('s3://b/big', out, { storeOptions, engine, resume: true, verify: 'require' });
    expect(readFileSync(out).equals(big)).toBe(true);
    expect(r.resumedBytes).toBe(kept);
    expect(r.stats.verified).toBe('crc32c'); // checked from the file: this run never saw the first bytes
    expect(r.stats.bytes).toBe(big.length - kept); // only the rest was asked for
    expect(server.stats.bytesSent - sent).toBeLessThan(big.length);
    expect(readdirSync(dir)).toEqual(['big.bin']);
  });

  it('a leftover of an object that changed since is dropped, and the new version read whole', async () => {
    server.put('b', 'moving', big);
    const out = join(dir, 'moving.bin');
    const ac = new AbortController();
    await expect(download('s3://b/moving', out, { storeOptions, engine, resume: true, signal: ac.signal, onProgress: (p) => p.bytes > 4 * MiB && ac.abort() })).rejects.toMatchObject({ code: 'Aborted' });
    expect(doneBytes(out)).toBeGreaterThan(0);
    const next = randomBytes(big.length);
    server.put('b', 'moving', next);
    const r = await download('s3://b/moving', out, { storeOptions, engine, resume: true });
    expect(readFileSync(out).equals(next)).toBe(true);
    expect(r.resumedBytes).toBe(0);
    expect(readdirSync(dir)).toEqual(['moving.bin']);
  });

  it('without resume a leftover is removed and the object read afresh; a failure leaves nothing', async () => {
    const out = join(dir, 'fresh.bin');
    const ac = new AbortController();
    await expect(download('s3://b/big', out, { storeOptions, engine, resume: true, signal: ac.signal, onProgress: (p) => p.bytes > 4 * MiB && ac.abort() })).rejects.toMatchObject({ code: 'Aborted' });
    const r = await download('s3://b/big', out, { storeOptions, engine });
    expect(r.resumedBytes).toBe(0);
    expect(readFileSync(out).equals(big)).toBe(true);
    const ac2 = new AbortController();
    await expect(download('s3://b/big', out, { storeOptions, engine, signal: ac2.signal, onProgress: (p) => p.bytes > 4 * MiB && ac2.abort() })).rejects.toMatchObject({ code: 'Aborted' });
    expect(readdirSync(dir)).toEqual(['fresh.bin']);
  });

  it("a leftover whose writer still runs is left alone (this download uses a temporary of its own)", async () => {
    const out = join(dir, 'busy.bin');
    writeFileSync(tmpOf(out), 'theirs');
    writeFileSync(`${tmpOf(out)}.state`, 'whatever');
    // util-linux flock(1) holds the lock on the leftover, as a live writer does.
    const sleeper = spawn('flock', ['-o', tmpOf(out), 'sleep', '30'], { stdio: 'ignore', detached: true }); // -o: the lock is flock's own
    try {
      await until(() => {
        try {
          execFileSync('flock', ['-n', tmpOf(out), 'true'], { stdio: 'ignore' });
          return false;
        } catch {
          return true; // held: the sleeper has it
        }
      }, 'flock(1) to hold the leftover');
      await download('s3://b/big', out, { storeOptions, engine, resume: true });
      expect(readFileSync(out).equals(big)).toBe(true);
      expect(readFileSync(tmpOf(out), 'utf8')).toBe('theirs');
      expect(readdirSync(dir).sort()).toEqual(['.busy.bin.rangepool-tmp', '.busy.bin.rangepool-tmp.state', 'busy.bin']);
    } finally {
      process.kill(-sleeper.pid!, 'SIGKILL'); // flock and its sleep
    }
  });

  it('a symlink planted at the temporary name is removed, never written through', async () => {
    const out = join(dir, 'planted.bin');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, tmpOf(out));
    symlinkSync(victim, `${tmpOf(out)}.state`);
    await download('s3://b/big', out, { storeOptions, engine, resume: true });
    expect(readFileSync(out).equals(big)).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(readdirSync(dir).sort()).toEqual(['planted.bin', 'victim']);
  });
});

describe('rangepool get after an interruption', () => {
  it.each([
    ['SIGKILL', null],
    ['SIGINT', 130],
  ] as const)('%s mid-download, then the same command again: it continues, exact, and says so', async (sig, code) => {
    const out = join(dir, 'big');
    server.setShape({ connectionRate: 2 * MiB }); // slow enough to be stopped halfway
    const child = spawn(process.execPath, [cli, 'get', 's3://b/big', '-o', out, '-q', '--part-size', '1MiB'], {
      env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await until(() => doneBytes(out) > 3 * MiB, 'the state to show bytes written');
    child.kill(sig);
    expect(await exited).toBe(code);
    expect(existsSync(tmpOf(out))).toBe(true);
    const kept = doneBytes(out);
    server.setShape({});
    const r = await runCli(['get', 's3://b/big', '-o', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).resumedBytes).toBeGreaterThanOrEqual(kept);
    expect(readFileSync(out).equals(big)).toBe(true);
    expect(readdirSync(dir)).toEqual(['big']);
  });
});
