// The built `rangepool` command, run as a child process against the loopback server and azurite.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { startObjectServer } from '../testing/object-server/index.js';
import { startAzurite } from '../testing/emulators/azurite.js';
import { startRawServer } from './support/raw-http-server.js';
import { formatSize } from '../src/cli/sizes.js';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rangepool-cli-'));
const data = randomBytes(5 * 1024 * 1024 + 3);
let server: Awaited<ReturnType<typeof startObjectServer>>;
let azurite: Awaited<ReturnType<typeof startAzurite>>;

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { encoding: 'buffer', maxBuffer: 64 << 20, cwd, env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
  });
}

beforeAll(async () => {
  server = await startObjectServer();
  server.put('b', 'dir/data.bin', data);
  server.put('b', 'dir/small', Buffer.from('small'));
  azurite = await startAzurite();
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('cli');
  await container.create();
  await container.getBlockBlobClient('blob').uploadData(data);
});
afterAll(async () => {
  await server.close();
  await azurite.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('rangepool get', () => {
  it('-o - writes exactly the object to stdout', async () => {
    const r = await run(['get', 's3://b/dir/data.bin', '-o', '-', '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
  });

  it('-o FILE writes the file atomically and leaves no temp file', async () => {
    const out = join(dir, 'out.bin');
    const r = await run(['get', 's3://b/dir/data.bin', '-o', out, '--part-size', '1MiB', '--concurrency', '3']);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('rangepool-tmp'))).toEqual([]);
    expect(r.stderr).toMatch(/s3:\/\/b\/dir\/data\.bin → .*out\.bin: 5\.0 MiB in .* 6 ranges/);
  });

  it('--json reports the download and the pool, with the right numbers', async () => {
    const out = join(dir, 'json.bin');
    const r = await run(['get', 's3://b/dir/data.bin', '-o', out, '--json', '--part-size', '2MiB', '--verify']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout.toString());
    expect(report.meta.size).toBe(data.length);
    expect(report.stats).toMatchObject({ bytes: data.length, ranges: 3, retries: 0, verified: 'crc32c' });
    // One pooled block per 2 MiB part, each released once written: never the whole object at once.
    expect(report.pool).toMatchObject({ native: true, taken: 3 });
    expect(report.pool.inUseBytes).toBe(0);
  });

  it('--threads reads the ranges on worker threads, byte-exact', async () => {
    const out = join(dir, 'threads.bin');
    const r = await run(['get', 's3://b/dir/data.bin', '-o', out, '--json', '--part-size', '1MiB', '--threads', '2']);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(JSON.parse(r.stdout.toString()).stats).toMatchObject({ bytes: data.length, ranges: 6, threads: 2 });
  });

  it('--no-buffer-pool keeps nothing idle; --buffer-pool-size sets what is kept', async () => {
    const off = JSON.parse((await run(['get', 's3://b/dir/small', '-o', join(dir, 's1'), '--json', '--no-buffer-pool'])).stdout.toString());
    expect(off.pool.idleBytes).toBe(0);
    const on = JSON.parse((await run(['get', 's3://b/dir/small', '-o', join(dir, 's2'), '--json', '--buffer-pool-size', '4'])).stdout.toString());
    expect(on.pool.idleBytes).toBeGreaterThan(0);
  });

  it('downloads from azurite with AZURE_STORAGE_CONNECTION_STRING', async () => {
    const r = await run(['get', 'az://cli/blob', '-o', '-', '-q'], { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString });
    expect(r.code).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
  });
});

describe('rangepool get: what it writes, and where', () => {
  it('a symlink given as -o is followed, never replaced; the file keeps its mode', async () => {
    const real = join(dir, 'real.bin');
    writeFileSync(real, 'old');
    chmodSync(real, 0o640);
    const link = join(dir, 'link.bin');
    symlinkSync(real, link);
    expect((await run(['get', 's3://b/dir/small', '-o', link, '-q'])).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('small');
    expect(statSync(real).mode & 0o777).toBe(0o640);
  });

  it('a FIFO given as -o is written in place, not replaced by a regular file', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const reader = new Promise<void>((resolve) => createReadStream(fifo).on('data', (c) => chunks.push(c as Buffer)).on('end', () => resolve()));
    expect((await run(['get', 's3://b/dir/small', '-o', fifo, '-q'])).code).toBe(0);
    await reader;
    expect(Buffer.concat(chunks).toString()).toBe('small');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it.each(['..', '.', 'x/..'])('a key named %j cannot name the output: a usage error, nothing written', async (key) => {
    server.put('b', key, Buffer.from('danger'));
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const before = readdirSync(dir).sort();
    const r = await run(['get', `s3://b/${key}`], {}, cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/give -o FILE/);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('a failed download leaves no temporary file behind', async () => {
    const out = join(dir, 'sub', 'never.bin');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    expect((await run(['get', 's3://b/missing', '-o', out])).code).toBe(3);
    expect(readdirSync(join(dir, 'sub'))).toEqual([]);
  });

  it('stdout closed early (-o - | head -c 10) ends quietly with exit 0', async () => {
    const child = spawn(process.execPath, [cli, 'get', 's3://b/dir/data.bin', '-o', '-', '-q'], {
      env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(stderr).not.toMatch(/Error|\n\s+at /);
    expect(code).toBe(0);
  });
});

describe('rangepool stat and ls', () => {
  it('stat prints size, ETag and checksums; --json parses', async () => {
    const text = await run(['stat', 's3://b/dir/data.bin']);
    expect(text.stdout.toString()).toContain(`size:      ${data.length}`);
    expect(text.stdout.toString()).toMatch(/crc32c:\s+[A-Za-z0-9+/]{6}==/); // base64, as S3 gives it
    const json = JSON.parse((await run(['stat', 's3://b/dir/data.bin', '--json'])).stdout.toString());
    expect(json).toMatchObject({ uri: 's3://b/dir/data.bin', size: data.length, etag: server.get('b', 'dir/data.bin')!.etag });
  });

  it('ls lists objects with human sizes and a total, folders once as PRE, every key with -r', async () => {
    const text = (await run(['ls', 's3://b/dir/'])).stdout.toString().trim().split('\n');
    expect(text.slice(0, 2).map((l) => l.split(/\s+/).slice(-3))).toEqual([
      [...formatSize(data.length).split(' '), 'data.bin'],
      ['5', 'B', 'small'],
    ]);
    expect(text[2]).toBe(`total: 2 objects, ${formatSize(data.length + 5)}`);
    const top = (await run(['ls', 's3://b/'])).stdout.toString();
    expect(top).toMatch(/^\s+PRE dir\/$/m);
    expect(top).not.toMatch(/data\.bin/);
    expect(top).toMatch(/\(\d+ folders?\)$/m);
    const all = (await run(['ls', 's3://b/', '-r'])).stdout.toString();
    expect(all).toMatch(/ dir\/data\.bin$/m);
    expect(all).toMatch(/ dir\/small$/m);
    const json = JSON.parse((await run(['ls', 's3://b/dir/', '--json'])).stdout.toString());
    expect(json.map((e: { key: string; size: number }) => [e.key, e.size])).toEqual([
      ['dir/data.bin', data.length],
      ['dir/small', 5],
    ]);
  });

  it('keys with control characters are printed escaped, never raw (errors too: describe() escapes)', async () => {
    server.put('b', 'esc/\x1b]0;pwned\x07key', Buffer.from('x'));
    const out = (await run(['ls', 's3://b/esc/', '-r'])).stdout.toString();
    expect(out).toContain('esc/\\x1b]0;pwned\\x07key');
    expect(out).not.toMatch(/[\x07\x1b\r]/);
  });
});

describe('errors and exit codes', () => {
  it.each([
    [['get'], 2, /missing required argument 'uri'/],
    [['get', 's3://b/dir/data.bin', '--part-size', 'lots'], 2, /--part-size must be a positive whole number of bytes/],
    [['get', 's3://b/dir/data.bin', '--part-size', '1.5'], 2, /--part-size must be a positive whole number of bytes/],
    [['get', 's3://b/dir/data.bin', '--part-size', '1KiB', '-o', '-'], 2, /--part-size must be at least 64KiB/],
    [['get', 's3://b/dir/data.bin', '--concurrency', '0'], 2, /--concurrency must be a whole number of at least 1/],
    [['get', 's3://b/dir/data.bin', '--threads', 'all'], 2, /--threads must be a whole number, got "all"/],
    [['get', 's3://b/dir/data.bin', '--endpoint', 'junk', '-o', '-'], 2, /endpoint "junk" is not a URL/],
    [['get', 'file:///tmp/%zz', '-o', '-'], 2, /malformed percent-encoding/],
    [['get', 'ftp://x/y', '-o', '-'], 2, /unknown scheme ftp:\/\/.*ftp:\/\/x\/y/],
    [['frobnicate'], 2, /unknown command/],
    [['get', 's3://b/missing', '-o', '-'], 3, /NotFound: no such object, bucket or container (\(NoSuchKey\) )?\(s3:\/\/b\/missing\) — check the bucket/],
    [['get', 's3://b/dir/data.bin', '-o', '/nonexistent-dir/x'], 2, /InvalidArgument: no such directory to write into: \/nonexistent-dir\/x/],
    [['get', 's3://b/k', '--endpoint', 'http://127.0.0.1:1', '-o', '-'], 1, /Unavailable: network error ECONNREFUSED.*\(s3:\/\/b\/k\) — nothing answered there: check the endpoint/],
  ] as const)('%j exits %d with a useful one-line message', async (args, code, message) => {
    const r = await run([...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace unless --debug
  });

  it('--version is this package\'s own version, whatever app runs it', async () => {
    const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
    const r = await run(['--version'], { npm_package_version: '9.9.9' });
    expect(r.stdout.toString().trim()).toBe(own);
  });

  it('the installed command (the package\'s bin) runs the CLI and, from Node 22.8, keeps its compiled code between runs', async () => {
    const bin = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).bin.rangepool as string;
    const tmp = mkdtempSync(join(tmpdir(), 'rangepool-compile-cache-'));
    const env = { ...process.env, TMPDIR: tmp, NODE_COMPILE_CACHE: undefined };
    const out = execFileSync(process.execPath, [new URL(`../${bin}`, import.meta.url).pathname, 'ls', '--help'], { env, encoding: 'utf8' });
    expect(out).toMatch(/^Usage: rangepool ls/);
    const cached = readdirSync(tmp, { recursive: true }).filter((f) => String(f).startsWith('node-compile-cache/')).length;
    const hasCache = typeof ((await import('node:module')).default as { enableCompileCache?: unknown }).enableCompileCache === 'function';
    if (hasCache) expect(cached).toBeGreaterThan(1);
    else expect(cached).toBe(0);
    rmSync(tmp, { recursive: true, force: true });
  });

  it.each(['stat', 'ls'])('%s --help lists only the switches it takes, none of the download ones', async (cmd) => {
    const r = await run([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/--endpoint/);
    expect(r.stdout.toString()).not.toMatch(/--part-size|--concurrency|--buffer-pool|--verify|--quiet/);
    expect((await run([cmd, '--part-size', '1MiB', 's3://b/k'])).code).toBe(2);
  });

  it('get --help lists the download switches', async () => {
    expect((await run(['get', '--help'])).stdout.toString()).toMatch(/--part-size[\s\S]*--concurrency[\s\S]*--verify/);
  });

  it('wrong credentials exit 4', async () => {
    const r = await run(['get', 'az://cli/blob', '-o', '-'], { AZURE_STORAGE_CONNECTION_STRING: azurite.wrongCredentials });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/AccessDenied.*az:\/\/cli\/blob.*credentials/);
  });

  it('a checksum mismatch exits 5, and --debug adds the stack', async () => {
    server.put('b', 'corrupt', randomBytes(1000));
    server.get('b', 'corrupt')!.crc32c = Buffer.alloc(4).toString('base64');
    const r = await run(['get', 's3://b/corrupt', '-o', '-', '--verify', '--debug']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/IntegrityError/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('signed URLs are never printed', () => {
  const signed = (key: string) => `${server.url}/b/${key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDSECRETCRED&X-Amz-Signature=SECRETSIG&X-Amz-Security-Token=SECRETTOKEN`;
  const leaks = (r: Run) => `${r.stdout.toString()}\n${r.stderr}`.match(/SECRET\w*/g) ?? [];

  it('in the summary, --json, NODE_DEBUG retry lines, stat, --debug errors and the several-objects failure list', async () => {
    server.setFaults([{ kind: 'status', status: 503, count: 1, match: { key: 'dir/small' } }]); // one retry, so NODE_DEBUG prints it
    const debugEnv = { NODE_DEBUG: 'rangepool' };
    const runs = [
      await run(['get', signed('dir/small'), '-o', join(dir, 'signed1')], debugEnv),
      await run(['get', signed('dir/small'), '-o', join(dir, 'signed2'), '--json']),
      await run(['stat', signed('dir/small')]),
      await run(['stat', signed('dir/small'), '--json']),
      await run(['get', signed('missing'), '-o', join(dir, 'signed3'), '--debug'], debugEnv),
      await run(['get', signed('dir/small'), signed('missing'), '-o', `${join(dir, 'signed-many')}/`, '--json']),
      await run(['get', signed('dir/small'), signed('missing'), '-o', `${join(dir, 'signed-many2')}/`]),
    ];
    server.setFaults([]);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 3, 3, 3]);
    expect(readFileSync(join(dir, 'signed1')).toString()).toBe('small'); // the real URL was requested
    expect(runs[0]!.stderr).toMatch(/retry 1 of .*X-Amz-Signature=REDACTED/);
    expect(JSON.parse(runs[1]!.stdout.toString()).uri).toMatch(/X-Amz-Signature=REDACTED/);
    expect(runs[4]!.stderr).toMatch(/NotFound.*X-Amz-Signature=REDACTED[\s\S]*\n\s+at /);
    expect(JSON.parse(runs[5]!.stdout.toString()).failures[0].uri).toMatch(/X-Amz-Credential=REDACTED/);
    for (const r of runs) expect(leaks(r)).toEqual([]);
  });

  it('nor the Location of a redirect loop', async () => {
    const raw = await startRawServer();
    raw.script((req, s) => s.write(`HTTP/1.1 302 Found\r\nlocation: ${req.path.split('?')[0]}x?sig=SECRETLOCATION\r\ncontent-length: 0\r\n\r\n`));
    const r = await run(['get', `${raw.url}/k?sig=SECRETFIRST`, '-o', join(dir, 'loop'), '--json']);
    await raw.close();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/redirected to .*sig=REDACTED/);
    expect(leaks(r)).toEqual([]);
  });
});

describe('progress', () => {
  it('shows a bar on a terminal, and none on a pipe or with -q', async () => {
    const cmd = `${process.execPath} ${cli} get s3://b/dir/data.bin -o ${join(dir, 'tty.bin')}`;
    const pty = await new Promise<string>((resolve) =>
      execFile('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } }, (_e, out) => resolve(out)),
    );
    expect(pty).toMatch(/100%.*5\.0 MiB \/ 5\.0 MiB.*ETA/);
    const piped = await run(['get', 's3://b/dir/data.bin', '-o', join(dir, 'pipe.bin')]);
    expect(piped.stderr).not.toMatch(/ETA|%/);
    const quiet = await run(['get', 's3://b/dir/data.bin', '-o', join(dir, 'q.bin'), '-q']);
    expect(quiet.stderr).not.toMatch(/→/);
  });
});

describe('many objects: get --recursive, several URIs, cat', () => {
  beforeAll(() => {
    server.put('t', 'p/a', Buffer.from('aaa'));
    server.put('t', 'p/sub/b', Buffer.from('bbbb'));
    server.put('t', 'p/big', data);
  });

  it('--recursive mirrors the keys under DIR, with per-object and total --json', async () => {
    const out = join(dir, 'rec');
    const r = await run(['get', '-r', 's3://t/p/', '-o', `${out}/`, '--json', '--objects', '2', '--part-size', '1MiB']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'a'), 'utf8')).toBe('aaa');
    expect(readFileSync(join(out, 'sub', 'b'), 'utf8')).toBe('bbbb');
    expect(readFileSync(join(out, 'big')).equals(data)).toBe(true);
    const report = JSON.parse(r.stdout.toString());
    expect(report.objects.map((o: { uri: string }) => o.uri).sort()).toEqual(['s3://t/p/a', 's3://t/p/big', 's3://t/p/sub/b']);
    expect(report.total).toMatchObject({ objects: 3, failed: 0, bytes: data.length + 7 });
  });

  it('hostile keys write nothing outside DIR; the rest is written; exit code is the worst class, with a summary', async () => {
    server.put('hostile', 'k/../x', Buffer.from('escape'));
    server.put('hostile', 'k//abs', Buffer.from('escape'));
    server.put('hostile', 'k/a//b', Buffer.from('escape'));
    server.put('hostile', 'k/d', Buffer.from('a file named like a directory'));
    server.put('hostile', 'k/d/e', Buffer.from('needs d to be a directory'));
    server.put('hostile', 'k/fine', Buffer.from('fine'));
    const root = mkdtempSync(join(tmpdir(), 'rangepool-hostile-'));
    const out = join(root, 'out');
    const r = await run(['get', '--recursive', 's3://hostile/k/', '-o', out]);
    // Three keys refused (InvalidArgument); of k/d and k/d/e, whichever comes second cannot be written
    // (a file where a directory must be, or the reverse: NotFound or InvalidArgument).
    expect([2, 3]).toContain(r.code);
    expect(readFileSync(join(out, 'fine'), 'utf8')).toBe('fine');
    expect(readdirSync(root)).toEqual(['out']); // nothing beside DIR
    expect(r.stderr).toMatch(/k\/\.\.\/x.*not written/);
    expect(r.stderr).toMatch(/4 of 6 objects failed/);
    const written = readdirSync(out, { recursive: true }).map(String).sort();
    expect(written.every((f) => ['fine', 'd', join('d', 'e')].includes(f))).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });

  it('several URIs go flat into DIR; a prefix without --recursive, or no DIR, is a usage error', async () => {
    const out = join(dir, 'several');
    mkdirSync(out);
    const r = await run(['get', 's3://t/p/a', 's3://t/p/sub/b', '-o', out, '-q']);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['a', 'b']);
    expect((await run(['get', 's3://t/p/a', 's3://t/p/sub/b'])).code).toBe(2);
    expect((await run(['get', 's3://t/p/', 's3://t/p/a', '-o', out])).code).toBe(2);
  });

  it('cat streams the object to stdout', async () => {
    const r = await run(['cat', 's3://t/p/big', '--part-size', '1MiB']);
    expect(r.code).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
    expect(r.stderr).not.toMatch(/→|rangepool:/); // no summary: stdout is the data
  });

  it.each([
    ['1000-1999', 1000, 2000],
    ['0-0', 0, 1],
    ['5000-', 5000, undefined],
    ['-300', -300, undefined],
  ])('cat --range %s writes exactly those bytes (as curl -r), and get --range -o the same into a file', async (range, from, to) => {
    const want = data.subarray(from < 0 ? data.length + from : from, to);
    const r = await run(['cat', 's3://t/p/big', '--range', range, '--part-size', '1MiB']);
    expect(r.code).toBe(0);
    expect(r.stdout.equals(want)).toBe(true);
    const file = join(dir, `range-${range}`);
    expect((await run(['get', 's3://t/p/big', '--range', range, '-o', file, '-q'])).code).toBe(0);
    expect(readFileSync(file).equals(want)).toBe(true);
  });

  it('a malformed --range, one past the end, or one over several objects is a usage error', async () => {
    for (const bad of ['10-5', 'abc', '-', '1-2-3']) expect((await run(['cat', 's3://t/p/big', '--range', bad])).stderr).toMatch(/--range must be START-END/);
    // As curl -r: a range that runs past the end ends at the end; one that starts past it is refused.
    const clamped = await run(['cat', 's3://t/p/big', '--range', `${data.length - 1}-${data.length + 1000}`]);
    expect(clamped.code).toBe(0);
    expect(clamped.stdout.equals(data.subarray(data.length - 1))).toBe(true);
    const toFile = join(dir, 'clamped');
    expect((await run(['get', 's3://t/p/big', '--range', `${data.length - 10}-${data.length + 1000}`, '-o', toFile])).code).toBe(0);
    expect(readFileSync(toFile).equals(data.subarray(data.length - 10))).toBe(true);
    const past = await run(['cat', 's3://t/p/big', '--range', `${data.length + 1}-${data.length + 5}`]);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/InvalidArgument: .*past the end/);
    expect((await run(['get', 's3://t/p/a', 's3://t/p/sub/b', '--range', '0-1', '-o', dir])).stderr).toMatch(/--range reads a part of one object/);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while a file is being written exits %d, and with --no-resume removes the temporary file', async (sig, code) => {
    const out = mkdtempSync(join(tmpdir(), 'rangepool-sig-'));
    server.setFaults([{ kind: 'stall', afterBytes: 1000, match: { key: 'p/big' } }]); // every range stalls for good
    const child = spawn(process.execPath, [cli, 'get', 's3://t/p/big', '-o', join(out, 'big'), '-q', '--part-size', '1MiB', '--no-resume'], {
      env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    for (let i = 0; i < 200 && !readdirSync(out).some((f) => f.includes('rangepool-tmp')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(readdirSync(out).some((f) => f.includes('rangepool-tmp'))).toBe(true);
    child.kill(sig);
    expect(await exited).toBe(code);
    server.setFaults([]);
    expect(readdirSync(out)).toEqual([]);
    rmSync(out, { recursive: true, force: true });
  });
});
