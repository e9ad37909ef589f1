// What users of curl, rclone and aws-cli expect of `rangepool get` (issue 38): each item through the real
// binary against the project's object server, or a scripted one where a request's headers are the point.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RangeEngine, download, stream } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { startRawServer } from './support/raw-http-server.js';

const MiB = 1 << 20;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const big = randomBytes(8 * MiB + 3);
let server: Awaited<ReturnType<typeof startObjectServer>>;
let dir: string;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'buffer', maxBuffer: 64 << 20, cwd: dir, env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
  });
}

beforeAll(async () => {
  server = await startObjectServer({ seed: 38 });
  server.put('b', 'empty', Buffer.alloc(0));
  server.put('b', 'q/what?v=2.txt', Buffer.from('query-like key'));
  server.put('b', 'big', big);
  for (const k of ['r/a', 'r/b', 'r/c']) server.put('b', k, big);
});
afterAll(() => server.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rangepool-edges-'));
  server.setShape({});
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('wrong results and errors', () => {
  it('a 0-byte object: stream(), cat and get -o - give 0 bytes and exit 0', async () => {
    const storeOptions = { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
    let n = 0;
    for await (const chunk of stream('s3://b/empty', { storeOptions })) n += (chunk as Buffer).length;
    expect(n).toBe(0);
    for (const args of [['cat', 's3://b/empty'], ['get', 's3://b/empty', '-o', '-']]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(0);
    }
  });

  it("a key with '?' is a key, not a URL's query: written under its whole base name", async () => {
    const r = await run(['get', 's3://b/q/what?v=2.txt', '-q']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'what?v=2.txt'), 'utf8')).toBe('query-like key');
  });

  it('an empty AWS_REGION is unset (as aws-cli reads it), not a region named ""', async () => {
    const r = await run(['stat', 's3://b/empty'], { AWS_REGION: '' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it("--profile signs for the profile's region, and a missing profile is named", async () => {
    const raw = await startRawServer();
    raw.script((_req, socket) => socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    const config = join(dir, 'config');
    writeFileSync(config, '[profile p1]\nregion = ap-south-1\naws_access_key_id = AKIDP1\naws_secret_access_key = s\n');
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_ENDPOINT_URL: raw.url, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    try {
      const r = await run(['stat', 's3://b/k', '--profile', 'p1'], env);
      expect(r.code).toBe(3);
      expect(raw.requests.at(-1)!.headers.authorization).toMatch(/Credential=AKIDP1\/\d{8}\/ap-south-1\/s3\//);
      const nope = await run(['stat', 's3://b/k', '--profile', 'nope'], env);
      expect(nope.code).toBe(4);
      expect(nope.stderr).toContain('no AWS credentials for the profile "nope"');
    } finally {
      await raw.close();
    }
  });
});

describe('--limit-rate (--bwlimit): a bandwidth cap', () => {
  it('takes a rate as curl does (K, M, G), reads exactly under it, and refuses what is not a rate of at least 1K', async () => {
    const r = await run(['get', 's3://b/big', '-o', 'capped', '--limit-rate', '8M', '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'capped')).equals(big)).toBe(true);
    expect((JSON.parse(r.stdout.toString()) as { stats: { connections: number } }).stats.connections).toBeLessThanOrEqual(16); // 8 MiB/s: 16 requests at most
    for (const [flag, value] of [['--bwlimit', '10'], ['--limit-rate', 'fast']]) {
      const bad = await run(['get', 's3://b/big', '-o', 'x', flag!, value!]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(flag);
    }
  });
});

describe('--checksum: a checksum of the bytes received, on any server', () => {
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('is printed as sha256sum prints it (with -q too), checked with =VALUE (hex or base64): a mismatch leaves no file (exit 5)', async () => {
    const r = await run(['get', 's3://b/big', '-o', 'a.bin', '--checksum', 'sha256', '-q']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`sha256 ${sha256(big)}  a.bin\n`);
    const wrong = await run(['get', 's3://b/big', '-o', 'b.bin', '--checksum', `sha256=${'0'.repeat(64)}`]);
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain(`is ${sha256(big)}, not the ${'0'.repeat(64)} expected`);
    const crc = (JSON.parse((await run(['stat', 's3://b/big', '--json'])).stdout.toString()) as { checksums: { crc32c: string } }).checksums.crc32c;
    expect((await run(['get', 's3://b/big', '-o', 'c.bin', '--checksum', `crc32c=${crc}`, '-q'])).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['a.bin', 'c.bin']);
  });

  it('on stdout, for each object of -r, and from download() (a continued file is read whole)', async () => {
    const cat = await run(['get', 's3://b/big', '-o', '-', '--checksum', 'md5', '-q']);
    expect(cat.stdout.equals(big)).toBe(true);
    expect(cat.stderr).toBe(`md5 ${createHash('md5').update(big).digest('hex')}  stdout\n`);
    const many = await run(['get', '-r', 's3://b/r/', '-o', 'out/', '--checksum', 'sha256']);
    expect(many.stderr.split('\n').filter((l) => l.startsWith('got ')).map((l) => l.split(' ').slice(-2).join(' '))).toEqual(['a', 'b', 'c'].map(() => `sha256 ${sha256(big)}`));
    expect((await run(['get', '-r', 's3://b/r/', '-o', 'out2/', '--checksum', 'sha256=00'])).code).toBe(2);
    const storeOptions = { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
    const ac = new AbortController();
    const out = join(dir, 'resumed.bin');
    const engine = new RangeEngine({ partSize: MiB });
    await download('s3://b/big', out, { storeOptions, engine, resume: true, signal: ac.signal, onProgress: (p) => p.bytes > 3 * MiB && ac.abort() }).catch(() => {});
    const r = await download('s3://b/big', out, { storeOptions, engine, resume: true, digest: 'sha256', expectDigest: sha256(big) });
    expect(r.digest).toBe(sha256(big));
  });
});

/** A server with ranges and Last-Modified but no ETag (If-Unmodified-Since honoured): what --trust-last-modified is for. */
async function dateServer(object: { data: Buffer; lastModified: Date }) {
  const server = createServer((req, res) => {
    const since = req.headers['if-unmodified-since'];
    if (since && Math.floor(object.lastModified.getTime() / 1000) > Math.floor(new Date(since).getTime() / 1000)) return void res.writeHead(412).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const head = { 'Last-Modified': object.lastModified.toUTCString(), 'Accept-Ranges': 'bytes' };
    if (!m) return void res.writeHead(200, { ...head, 'Content-Length': object.data.length }).end(object.data);
    const [a, b] = [Number(m[1]), Math.min(Number(m[2]), object.data.length - 1)];
    res.writeHead(206, { ...head, 'Content-Length': b - a + 1, 'Content-Range': `bytes ${a}-${b}/${object.data.length}` }).end(object.data.subarray(a, b + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/o.bin`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('--trust-last-modified: resume where the server sends no ETag, opted into', () => {
  it('continues a leftover held to its date and size, and says so; without it, or once the date changed, starts over', async () => {
    const object = { data: randomBytes(6 * MiB + 1), lastModified: new Date('2026-01-02T03:04:05Z') };
    const srv = await dateServer(object);
    const engine = new RangeEngine({ partSize: MiB, concurrency: 2 });
    const leftover = async () => {
      const ac = new AbortController();
      const first = download(srv.url, join(dir, 'o.bin'), { storeOptions: { datePinnedRanges: true }, engine, resume: true, signal: ac.signal, onProgress: (p) => p.bytes > 2 * MiB && ac.abort() });
      await expect(first).rejects.toMatchObject({ code: 'Aborted' });
    };
    try {
      await leftover();
      const r = await run(['get', srv.url, '-o', 'o.bin', '--trust-last-modified']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/continued after .* already there \(held to Last-Modified Fri, 02 Jan 2026 03:04:05 GMT and 6291457 bytes\)/);
      expect(readFileSync(join(dir, 'o.bin')).equals(object.data)).toBe(true);
      await leftover();
      const plain = await run(['get', srv.url, '-o', 'o.bin', '--json']);
      expect((JSON.parse(plain.stdout.toString()) as { resumedBytes: number }).resumedBytes).toBe(0);
      expect(readFileSync(join(dir, 'o.bin')).equals(object.data)).toBe(true);
      await leftover();
      Object.assign(object, { data: randomBytes(object.data.length), lastModified: new Date('2026-01-03T00:00:00Z') });
      const changed = await run(['get', srv.url, '-o', 'o.bin', '--trust-last-modified', '--json']);
      expect(changed.code).toBe(0);
      expect((JSON.parse(changed.stdout.toString()) as { resumedBytes: number }).resumedBytes).toBe(0);
      expect(readFileSync(join(dir, 'o.bin')).equals(object.data)).toBe(true);
      expect(readdirSync(dir)).toEqual(['o.bin']);
    } finally {
      await srv.close();
    }
  });
});

describe('a server that ignores Range', () => {
  it('--range is Unsupported (its limit, not a fault to report), from any offset; the whole object is read', async () => {
    const body = randomBytes(10_000);
    const raw = await startRawServer();
    raw.script((_req, socket) => socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body])));
    try {
      for (const range of ['100-109', '0-9']) {
        const r = await run(['get', `${raw.url}/o.bin`, '--range', range, '-o', 'part']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/Unsupported: the server ignores Range requests/);
        expect(r.stderr).not.toContain('report it');
      }
      expect((await run(['get', `${raw.url}/o.bin`, '-o', 'whole', '-q'])).code).toBe(0);
      expect(readFileSync(join(dir, 'whole'))).toEqual(body);
    } finally {
      await raw.close();
    }
  });
});

describe('ls, as aws s3 ls', () => {
  it('lists one level with a delimiter: 2,500 keys under a folder cost one page, the folder shows once, the total counts what is shown', async () => {
    for (let i = 0; i < 2500; i++) server.put('ls', `deep/${String(i).padStart(4, '0')}`, Buffer.alloc(1));
    server.put('ls', 'deep/', Buffer.alloc(0)); // a folder marker
    server.put('ls', 'top.bin', Buffer.alloc(7));
    const before = server.stats.requests.LIST ?? 0;
    const r = await run(['ls', 's3://ls/']);
    expect(r.code).toBe(0);
    const lines = r.stdout.toString().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\s+PRE deep\/$/);
    expect(lines[1]).toMatch(/ 7 B top\.bin$/);
    expect(lines[2]).toBe('total: 1 object, 7 B (1 folder)');
    expect((server.stats.requests.LIST ?? 0) - before).toBe(1);
    expect((await run(['ls', '-r', 's3://ls/'])).stdout.toString()).toContain('total: 2502 objects');
  });
});

describe('usage, said before anything is fetched', () => {
  it('--dry-run of a missing object is NotFound (exit 3), of one that exists says what it would do', async () => {
    expect((await run(['get', 's3://b/nope', '--dry-run'])).code).toBe(3);
    const r = await run(['get', 's3://b/big', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('(dry run) would get s3://b/big');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a prefix without --recursive, --exclude on one object, -r -o FILE: exit 2 with the reason, nothing fetched', async () => {
    const sent = server.stats.bytesSent;
    const prefix = await run(['get', 's3://b/r/']);
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toContain('add --recursive');
    const exclude = await run(['get', 's3://b/big', '--exclude', '*']);
    expect(exclude.code).toBe(2);
    expect(exclude.stderr).toContain('use them with --recursive');
    writeFileSync(join(dir, 'file'), 'mine');
    const file = await run(['get', '-r', 's3://b/r/', '-o', 'file']);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('is not a directory');
    expect(server.stats.bytesSent).toBe(sent);
    expect(readdirSync(dir)).toEqual(['file']);
  });

  it('an interrupted -r says what it kept, and how to continue', async () => {
    server.setShape({ totalRate: 2 * MiB }); // 3 objects of 8 MiB take seconds
    const child = spawn(process.execPath, [cli, 'get', '-r', 's3://b/r/', '-o', 'out/', '--part-size', '1MiB'], {
      cwd: dir,
      env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Interrupted once its temporary files are there and bytes have had time to land.
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const temporaries = (() => {
        try {
          return readdirSync(join(dir, 'out')).filter((n) => n.endsWith('.rangepool-tmp')).length;
        } catch {
          return 0; // not made yet
        }
      })();
      if (temporaries > 0) break;
    }
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/what was written of \d+ objects? is kept .*run the same command again/);
  });
});

/** Runs the command on a terminal (util-linux script(1) gives it a pty); its output as the terminal saw it. */
function onTerminal(args: string[]): Promise<{ code: number; screen: string }> {
  const command = [process.execPath, cli, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { cwd: dir, encoding: 'buffer', env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, screen: stdout.toString('utf8').replace(/\x1b(\[[0-9;?]*[a-zA-Z]|[78])/g, '') }),
    );
  });
}

describe('progress', () => {
  it('in a log (stderr not a terminal): a line every --stats, as JSON lines with --json; -r a line per object, the count never past the objects', async () => {
    server.setShape({ totalRate: 8 * MiB });
    server.put('b', 'r/empty', Buffer.alloc(0));
    try {
      const r = await run(['get', '-r', 's3://b/r/', '-o', 'out/', '--stats', '300ms']);
      expect(r.code).toBe(0);
      const lines = r.stderr.split('\n');
      const progress = lines.filter((l) => l.startsWith('progress: '));
      expect(progress.length).toBeGreaterThanOrEqual(3);
      for (const l of progress) {
        const [, done, started] = /, (\d+)\/(\d+) objects$/.exec(l)!;
        expect(Number(done)).toBeLessThanOrEqual(Number(started));
      }
      expect(lines.filter((l) => l.startsWith('got s3://b/r/')).sort()).toEqual(['a', 'b', 'c', 'empty'].map((k) => `got s3://b/r/${k} → out/${k} (${k === 'empty' ? '0 B' : '8.0 MiB'})`));
      const json = await run(['get', 's3://b/big', '-o', 'big.json', '--stats', '300ms', '--json']);
      const events = json.stderr.trim().split('\n').map((l) => JSON.parse(l) as { progress: { bytes: number; total: number } });
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events.every((e) => e.progress.total === big.length && e.progress.bytes <= big.length)).toBe(true);
      const quiet = await run(['get', 's3://b/big', '-o', 'big.q', '--stats', '300ms', '-q']);
      expect(quiet.stderr).toBe('');
      const forced = await run(['get', 's3://b/big', '-o', 'big.f', '--stats', '300ms', '-q', '--progress']);
      expect(forced.stderr).toMatch(/^progress: /m);
      const none = await run(['get', 's3://b/big', '-o', 'big.n', '--stats', '300ms', '--no-progress']);
      expect(none.stderr).not.toMatch(/^progress: /m);
    } finally {
      server.delete('b', 'r/empty');
    }
  });

  it("on a terminal, the bar's ETA is from the average rate (never 0 while most is still to come)", async () => {
    server.setShape({ totalRate: 4 * MiB });
    const r = await onTerminal(['get', 's3://b/big', '-o', 'big']);
    expect(r.code).toBe(0);
    const shown = [...r.screen.matchAll(/(\d+)% \|[^|]+\|[^|]+\| ETA (\S+)/g)].map((m) => [Number(m[1]), m[2]!] as const);
    expect(shown.length).toBeGreaterThan(3);
    for (const [pct, eta] of shown) {
      expect(eta).toMatch(/^(…|\d+s|\d+m\d\ds|\d+h\d\dm)$/); // ours, not cli-progress's own {eta}
      if (pct < 50 && eta !== '…') expect(eta).not.toBe('0s');
    }
  });

  it('cat refuses to write binary to a terminal (as curl), and writes text', async () => {
    server.put('b', 'hello.txt', Buffer.from('hello\n'));
    const binary = await onTerminal(['cat', 's3://b/big']);
    expect(binary.code).toBe(2);
    expect(binary.screen).toContain('stdout is a terminal');
    const text = await onTerminal(['cat', 's3://b/hello.txt']);
    expect(text.code).toBe(0);
    expect(text.screen).toContain('hello');
  });
});

describe('rough edges', () => {
  it("stat gives checksums as S3 does (base64 of the big-endian value), in text and --json alike", async () => {
    const text = (await run(['stat', 's3://b/big'])).stdout.toString();
    const json = JSON.parse((await run(['stat', 's3://b/big', '--json'])).stdout.toString()) as { checksums: Record<string, string> };
    const head = await fetch(`${server.url}/b/big`, { method: 'HEAD', headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    for (const kind of ['crc32c', 'crc64nvme']) {
      const s3 = head.headers.get(`x-amz-checksum-${kind}`)!;
      expect(json.checksums[kind]).toBe(s3);
      expect(text).toContain(`${kind}:`.padEnd(11) + s3);
    }
  });

  it('cat --help offers only what cat uses; --part-size names its own minimum', async () => {
    const help = (await run(['cat', '--help'])).stdout.toString();
    expect(help).not.toMatch(/--json|--no-resume|--quiet|--stats/);
    expect(help).toMatch(/--range/);
    const small = await run(['get', 's3://b/big', '--part-size', '1']);
    expect(small.code).toBe(2);
    expect(small.stderr).toContain('--part-size must be at least 64KiB');
    expect(small.stderr).not.toContain('partSize');
  });

  it('access denied names what to check for the kind of URI: a plain URL, a local file, S3', async () => {
    const raw = await startRawServer();
    raw.script((_req, socket) => socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    try {
      const url = await run(['get', `${raw.url}/x`, '-o', 'x']);
      expect(url.code).toBe(4);
      expect(url.stderr).toContain('check the URL');
      expect(url.stderr).not.toContain('AWS_');
    } finally {
      await raw.close();
    }
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, 'secret'), 'x', { mode: 0o000 });
      const file = await run(['get', join(dir, 'secret'), '-o', 'copy']);
      expect(file.stderr).toContain("check the file's permissions");
    }
    const s3 = await run(['get', 's3://b/big', '-o', 'y'], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_CONFIG_FILE: join(dir, 'none') });
    expect(s3.code).toBe(4);
    expect(s3.stderr).toContain('AWS_ACCESS_KEY_ID');
  });

  it('the built command is executable (npx rangepool in a clean clone)', () => {
    expect(statSync(cli).mode & 0o111).toBe(0o111);
  });
});
