// Files never wrong (issue 35): each way a file under its final name could hold the wrong bytes, or a
// write could leave the target, against the project's object server and the real CLI. Numbers follow
// the list. The randomized campaign over all of them is test/files-campaign.test.ts.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RangeEngine, download, getMany } from '../src/index.js';
import { PartFile, partFilePath } from '../src/files/part-file.js';
import { strongValidator } from '../src/engine/pin.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { startRawServer } from './support/raw-http-server.js';

const MiB = 1 << 20;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const big = randomBytes(6 * MiB + 5);
let server: Awaited<ReturnType<typeof startObjectServer>>;
let storeOptions: { endpoint: string; credentials: typeof credentials };
let dir: string;
const engine = new RangeEngine({ partSize: MiB, stallTimeoutMs: 500, retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 } });
const body = (k: string) => Buffer.from(`object ${k}\n`);

function run(args: string[], opts: { shell?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
  const [file, argv] = opts.shell ? ['sh', ['-c', `${opts.shell}; exec "$0" "$@"`, process.execPath, cli, ...args]] : [process.execPath, [cli, ...args]];
  return new Promise((resolve) => {
    execFile(file, argv as string[], { env }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
const files = (root: string): string[] =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name).slice(root.length + 1))
    .sort();
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
/** PartFile.open's options: continue leftovers, of versions with a strong validator. */
const partOpts = { resume: true, mode: 0o644, pinnable: strongValidator };
/** A state as part-file.ts writes it: its JSON, then the JSON's digest. */
const encodeState = (s: unknown) => {
  const text = JSON.stringify(s);
  return `${text}\n${createHash('sha256').update(text).digest('hex')}\n`;
};

beforeAll(async () => {
  server = await startObjectServer({ seed: 35 });
  server.put('b', 'big', big);
  for (const k of ['p/x', 'p/.x.rangepool-tmp', 'a/model.bin', 'b/model.bin', 'data/x.parquet', 'datax.parquet', 'database.csv', 'data2/y', 'n/f', 'n/f/g', 'line\nfeed', `long/${'n'.repeat(250)}`, `long/${'m'.repeat(256)}`]) server.put('b', k, body(k));
  server.put('b', 'n/dir/', body('a folder marker with bytes'));
  server.put('b', 'n/empty/', Buffer.alloc(0));
  storeOptions = { endpoint: server.url, credentials };
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rangepool-rules-'));
  server.setFaults([]);
  server.setShape({});
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('1, 10: names', () => {
  it("a key named like another key's temporary file is refused and named; the other is exact (--verify, exit 2)", async () => {
    const r = await run(['get', '-r', 's3://b/p/', '-o', `${dir}/`, '--verify', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('s3://b/p/.x.rangepool-tmp');
    expect(readFileSync(join(dir, 'x'))).toEqual(body('p/x'));
    expect(files(dir)).toEqual(['x']);
  });

  it('a key with a line feed is fetched; a 250-byte name is written (its temporary is a digest); a 256-byte one is refused by name', async () => {
    const out = join(dir, 'lf');
    await download('s3://b/line\nfeed', out, { storeOptions });
    expect(readFileSync(out)).toEqual(body('line\nfeed'));
    const results = await all(getMany('s3://b/long/', { storeOptions, to: dir }));
    const ok = results.find((r) => !r.error)!;
    expect(readFileSync(ok.path!)).toEqual(body(`long/${'n'.repeat(250)}`));
    expect(partFilePath(ok.path!).length - dir.length).toBeLessThan(60);
    const refused = results.find((r) => r.error)!;
    expect(refused.error).toMatchObject({ code: 'InvalidArgument' });
    expect(refused.error!.message).toContain('longer than 255 bytes');
    expect(refused.uri).toBe(`s3://b/long/${'m'.repeat(256)}`);
  });

  it('keys f and f/g: the second names the conflict; a folder marker with bytes is named, an empty one skipped', async () => {
    const results = await all(getMany('s3://b/n/', { storeOptions, to: dir, ordered: true }));
    const byUri = new Map(results.map((r) => [r.uri, r] as const));
    expect(byUri.get('s3://b/n/f')?.error).toBeUndefined();
    expect(byUri.get('s3://b/n/f/g')?.error?.message).toMatch(/is the file of s3:\/\/b\/n\/f/);
    expect(byUri.get('s3://b/n/dir/')?.error?.message).toMatch(/ends in a slash .* holds \d+ bytes/);
    expect(byUri.has('s3://b/n/empty/')).toBe(false);
    expect(files(dir)).toEqual(['f']);
  });
});

describe('2: two objects, one path', () => {
  it('get A B -o d/ writes the first and names the second; exit non-zero; the same URI twice is written once', async () => {
    const r = await run(['get', 's3://b/a/model.bin', 's3://b/b/model.bin', '-o', `${dir}/`, '--objects', '1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('s3://b/b/model.bin');
    expect(readFileSync(join(dir, 'model.bin'))).toEqual(body('a/model.bin'));
    const twice = await run(['get', 's3://b/a/model.bin', 's3://b/a/model.bin', '-o', `${dir}/`]);
    expect(twice.code).toBe(0);
    expect(files(dir)).toEqual(['model.bin']);
  });

  it('two download() calls to one path in one process: each writes a temporary of its own, the file is one object whole', async () => {
    server.put('b', 'other', randomBytes(big.length));
    const out = join(dir, 'one');
    const [a, b] = await Promise.all([download('s3://b/big', out, { storeOptions, engine, resume: true }), download('s3://b/other', out, { storeOptions, engine, resume: true })]);
    const got = readFileSync(out);
    expect(got.equals(big) || got.equals(server.get('b', 'other')!.data)).toBe(true);
    expect([a.meta.size, b.meta.size]).toEqual([big.length, big.length]);
    expect(files(dir)).toEqual(['one']);
  });
});

describe('3: a prefix without a slash is its folder', () => {
  it('getMany and get -r take data/... only; ls of a partial prefix names keys after its last slash', async () => {
    const results = await all(getMany('s3://b/data', { storeOptions, to: dir }));
    expect(results.map((r) => r.uri)).toEqual(['s3://b/data/x.parquet']);
    expect(files(dir)).toEqual(['x.parquet']);
    const out = join(dir, 'cli');
    expect((await run(['get', '-r', 's3://b/data', '-o', out, '-q'])).code).toBe(0);
    expect(files(out)).toEqual(['x.parquet']);
    const ls = await run(['ls', 's3://b/dat']);
    expect(ls.stdout).toMatch(/PRE data\/\n/);
    expect(ls.stdout).toMatch(/PRE data2\/\n/);
    expect(ls.stdout).toMatch(/ database\.csv\n/);
    expect(ls.stdout).toMatch(/ datax\.parquet\n/);
  });
});

describe('4, 11: what a leftover may be continued from', () => {
  const interrupted = async (out: string, opts: { offset?: number; length?: number } = {}) => {
    const ac = new AbortController();
    const first = download('s3://b/big', out, { storeOptions, engine, resume: true, signal: ac.signal, ...opts, onProgress: (p) => p.bytes > 2 * MiB && ac.abort() });
    await expect(first).rejects.toMatchObject({ code: 'Aborted' });
    expect(existsSync(`${partFilePath(out)}.state`)).toBe(true);
  };

  it('a part file cut short (as a crash before the page cache reached the disk) is not continued: exact bytes', async () => {
    const out = join(dir, 'cut.bin');
    await interrupted(out);
    truncateSync(partFilePath(out), 50_001);
    const r = await download('s3://b/big', out, { storeOptions, engine, resume: true });
    expect(r.resumedBytes).toBe(0);
    expect(readFileSync(out).equals(big)).toBe(true);
  });

  it('a state edited, emptied or of another object is not trusted: exact bytes', async () => {
    for (const tamper of [(s: string) => s.replace(/"done":\[\[0,\d+\]/, '"done":[[0,6000000]'), () => '', (s: string) => s.replace(/"object":"[0-9a-f]+"/, `"object":"${'0'.repeat(64)}"`)]) {
      const out = join(dir, 'edited.bin');
      await interrupted(out);
      const state = `${partFilePath(out)}.state`;
      writeFileSync(state, tamper(readFileSync(state, 'utf8')));
      const r = await download('s3://b/big', out, { storeOptions, engine, resume: true });
      expect(r.resumedBytes).toBe(0);
      expect(readFileSync(out).equals(big)).toBe(true);
      rmSync(out);
    }
  });

  it('a state naming a live, unrelated process (a reused pid) is continued: the lock, not the pid, says the writer is gone', async () => {
    const out = join(dir, 'reused.bin');
    await interrupted(out);
    const state = `${partFilePath(out)}.state`;
    const saved = JSON.parse(readFileSync(state, 'utf8').split('\n')[0]!) as { pid: number };
    writeFileSync(state, encodeState({ ...saved, pid: 1 }));
    const r = await download('s3://b/big', out, { storeOptions, engine, resume: true });
    expect(r.resumedBytes).toBeGreaterThan(2 * MiB);
    expect(readFileSync(out).equals(big)).toBe(true);
    expect(files(dir)).toEqual(['reused.bin']);
  });

  it('a span (--range) left by an interruption is continued, exact', async () => {
    const out = join(dir, 'span.bin');
    const offset = 100_003;
    const length = 5 * MiB;
    await interrupted(out, { offset, length });
    const r = await download('s3://b/big', out, { storeOptions, engine, resume: true, offset, length });
    expect(r.resumedBytes).toBeGreaterThan(2 * MiB);
    expect(readFileSync(out).equals(big.subarray(offset, offset + length))).toBe(true);
  });
});

describe('5: a live run is never taken for dead', () => {
  it('a second open while the first writes and saves its state never takes the first one\'s file (2,000 tries)', async () => {
    const out = join(dir, 'live.bin');
    const a = PartFile.open(out, 'a', partOpts);
    a.start({ size: 4096, etag: '"e"' }, 4096);
    const mine = Buffer.alloc(4096, 1);
    for (let i = 0; i < 2000; i++) {
      await a.write(0, mine);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
      const b = PartFile.open(out, 'a', partOpts);
      expect(b.path).not.toBe(a.path);
      await b.discard(false);
    }
    expect(readFileSync(a.path)).toEqual(mine);
    await a.commit(out, false);
    expect(readFileSync(out)).toEqual(mine);
    expect(files(dir)).toEqual(['live.bin']);
  });

  it('a leftover held by another process (flock(1)) is left alone; once it is gone, its random-named temporaries are swept', async () => {
    const out = join(dir, 'held.bin');
    const tmp = partFilePath(out);
    writeFileSync(tmp, 'theirs');
    // flock(1) holds it (-o: flock's own descriptor; a group of its own, so that both it and sleep can be killed).
    const holder = spawn('flock', ['-o', tmp, 'sleep', '30'], { stdio: 'ignore', detached: true });
    for (let i = 0; i < 200; i++) {
      try {
        execFileSync('flock', ['-n', tmp, 'true'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 20));
      } catch {
        break; // held
      }
    }
    const a = PartFile.open(out, 'x', partOpts);
    expect(a.path).not.toBe(tmp);
    expect(readFileSync(tmp, 'utf8')).toBe('theirs');
    // A random-named temporary is never kept; a killed run leaves one (planted here). Once the holder is
    // killed too, the next run takes the fixed name over and sweeps the other.
    await a.discard(true);
    writeFileSync(a.path, 'junk');
    process.kill(-holder.pid!, 'SIGKILL');
    for (let i = 0; i < 200; i++) {
      try {
        execFileSync('flock', ['-n', tmp, 'true'], { stdio: 'ignore' });
        break; // free: the kernel has let go of it
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const b = PartFile.open(out, 'x', partOpts);
    expect(b.path).toBe(tmp);
    expect(existsSync(a.path)).toBe(false);
    await b.discard(false);
    expect(files(dir)).toEqual([]);
  });
});

describe('without flock (Windows, no addon, a file system without it): the pid rules', () => {
  beforeEach(() => {
    process.env.RANGEPOOL_NO_FLOCK = '1';
    return () => void delete process.env.RANGEPOOL_NO_FLOCK;
  });

  it("a leftover whose state names a live process is left alone; this process's own, once let go, is continued; two opens never share one", async () => {
    const out = join(dir, 'pids.bin');
    const a = PartFile.open(out, 'x', partOpts);
    const b = PartFile.open(out, 'x', partOpts);
    expect(b.path).not.toBe(a.path); // the same process: `held`, not the pid, tells them apart
    await b.discard(false);
    a.start({ size: 10, etag: '"e"' }, 10);
    await a.write(0, Buffer.alloc(5, 1));
    expect(await a.discard(true)).toBe(true);
    const again = PartFile.open(out, 'x', partOpts);
    expect(again.path).toBe(a.path);
    expect(again.bytes).toBe(5);
    expect(await again.discard(true)).toBe(true);
    const state = `${partFilePath(out)}.state`;
    const saved = JSON.parse(readFileSync(state, 'utf8').split('\n')[0]!) as { pid: number };
    const live = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(state, encodeState({ ...saved, pid: live.pid }));
      const other = PartFile.open(out, 'x', partOpts);
      expect(other.path).not.toBe(a.path);
      await other.discard(false);
      writeFileSync(state, 'not a state');
      const unreadable = PartFile.open(out, 'x', partOpts);
      expect(unreadable.path).not.toBe(a.path); // a possibly live writer's: left alone
      await unreadable.discard(false);
    } finally {
      live.kill('SIGKILL');
    }
  });
});

describe('6: a body that runs past its Content-Range', () => {
  it('is never trusted, even when all the bytes asked for came first: get() and download() retry it, exact', async () => {
    server.setFaults([{ kind: 'overrun', extra: 100, count: 3 }]);
    const out = join(dir, 'overrun.bin');
    const r = await download('s3://b/big', out, { storeOptions, engine });
    expect(readFileSync(out).equals(big)).toBe(true);
    expect(r.stats.retries).toBeGreaterThanOrEqual(3);
    server.setFaults([{ kind: 'overrun', extra: 1 << 20, count: 3 }]);
    const { getObject, release } = await import('../src/index.js');
    const obj = await getObject('s3://b/big', { storeOptions, engine, cache: false });
    expect(obj.buffer.equals(big)).toBe(true);
    release(obj.buffer);
  });
});

describe('7: symlinks at the output path', () => {
  it('a dangling symlink is refused (LocalIO, exit 6), never replaced', async () => {
    const out = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), out);
    const r = await run(['get', 's3://b/a/model.bin', '-o', out]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('leads nowhere');
    expect(readdirSync(dir)).toEqual(['dangling']);
  });

  it("one's own link is followed (the target is written, the link stays); another user's link in a sticky world-writable directory is refused", async () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'old');
    symlinkSync(target, join(dir, 'mine'));
    expect((await run(['get', 's3://b/a/model.bin', '-o', join(dir, 'mine')])).code).toBe(0);
    expect(readFileSync(target)).toEqual(body('a/model.bin'));
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(shared, 'out'));
    if (process.getuid?.() === 0) lchownSync(join(shared, 'out'), 65534, 65534);
    else return; // only root can plant a link owned by another user
    const r = await run(['get', 's3://b/a/model.bin', '-o', join(shared, 'out')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('protected_symlinks');
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });
});

describe('8: a presigned URL in an error', () => {
  it("a malformed Location is an IntegrityError, and no part of the error's chain shows the signature", async () => {
    const raw = await startRawServer();
    raw.script((_req, socket) => socket.write('HTTP/1.1 302 Found\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n'));
    try {
      const url = `${raw.url}/o?X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok`;
      const e = await download(url, join(dir, 'x'), {}).catch((err: unknown) => err);
      expect(e).toMatchObject({ code: 'IntegrityError' });
      const shown = inspect(e, { depth: 10 }) + String((e as Error).stack);
      expect(shown).not.toContain('deadbeef');
      expect(shown).not.toContain('tok');
    } finally {
      await raw.close();
    }
  });

  it('a cause that carries a signed URL (a TypeError with input and base) is redacted down the chain, its class kept', async () => {
    const { RangepoolError } = await import('../src/index.js');
    let cause: unknown;
    try {
      new URL('http://[::1', 'https://h/o?X-Amz-Signature=deadbeef');
    } catch (e) {
      cause = new Error('outer', { cause: e });
    }
    const e = new RangepoolError('Internal', 'x', { cause });
    expect(inspect(e, { depth: 10 })).not.toContain('deadbeef');
    expect((e.cause as Error).cause).toBeInstanceOf(TypeError);
  });
});

describe('9: a size the file system cannot hold', () => {
  it('is LocalIO (exit 6) from the command line, naming the path', async () => {
    const out = join(dir, 'efbig');
    const r = await run(['get', 's3://b/big', '-o', out], { shell: 'ulimit -f 1024' });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/LocalIO: file too large for the file system: .*efbig/);
    expect(files(dir)).toEqual([]);
  });
});
