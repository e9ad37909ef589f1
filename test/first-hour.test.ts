// What a new user meets in the first hour (issue 28), each against a real server: python's http.server
// (no ETag), s3rver, the project's object server; a full disk (a 1 MiB tmpfs, when this runs as root),
// a read-only directory, /dev/full.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { RangeEngine, download, stream } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { startS3rver } from '../testing/emulators/s3rver.js';
import { startChild } from '../testing/emulators/child.js';
import { freePort, waitForPort } from '../testing/emulators/free-port.js';

const MiB = 1 << 20;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const data = randomBytes(3 * MiB + 11);
const dir = mkdtempSync(join(tmpdir(), 'rangepool-first-hour-'));
let server: Awaited<ReturnType<typeof startObjectServer>>;
let s3rver: Awaited<ReturnType<typeof startS3rver>>;
let python: { url: string; stop: () => Promise<void> } | undefined;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'buffer', maxBuffer: 64 << 20, env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
  });
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

beforeAll(async () => {
  server = await startObjectServer({ seed: 28 });
  server.put('b', 'data.bin', data);
  for (const k of ['m/a/x.safetensors', 'm/a/optimizer/o.bin', 'm/b/y.safetensors', 'm/readme.md']) server.put('b', k, Buffer.from(k));
  s3rver = await startS3rver(['sr']);
  const client = new S3Client({ endpoint: s3rver.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3rver.credentials });
  await client.send(new PutObjectCommand({ Bucket: 'sr', Key: 'obj', Body: data }));
  if (hasPython) {
    const root = join(dir, 'www');
    mkdirSync(root);
    writeFileSync(join(root, 'plain.bin'), data);
    const port = await freePort();
    const child = startChild('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', root, String(port)]);
    await waitForPort(port);
    python = { url: `http://127.0.0.1:${port}`, stop: child.stop };
  }
}, 60_000);
afterAll(async () => {
  await server.close();
  await s3rver.stop();
  await python?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('servers that give less than S3 does', () => {
  it.skipIf(!hasPython)('no ETag (python http.server): get, download() and stream() read the object in one request, exactly', async () => {
    const out = join(dir, 'plain.bin');
    const r = await run(['get', `${python!.url}/plain.bin`, '-o', out, '--part-size', '1MiB']);
    expect(r.stderr).not.toMatch(/changed|PreconditionFailed/);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    const engine = new RangeEngine({ partSize: MiB });
    const lib = await download(`${python!.url}/plain.bin`, join(dir, 'plain-lib.bin'), { engine });
    expect(lib.stats.requests).toBe(1);
    expect(readFileSync(join(dir, 'plain-lib.bin')).equals(data)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of stream(`${python!.url}/plain.bin`, { engine })) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('s3rver through a plain URL: get and cat start with the first range, as get() does (no bytes=0-0 in front)', async () => {
    const url = `${s3rver.endpoint}/sr/obj`;
    const out = join(dir, 's3rver.bin');
    const r = await run(['get', url, '-o', out, '--part-size', '1MiB']);
    expect(r.stderr).not.toMatch(/IntegrityError/);
    expect(r.code).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    const cat = await run(['cat', url, '--part-size', '1MiB']);
    expect(cat.code).toBe(0);
    expect(cat.stdout.equals(data)).toBe(true);
    const part = await run(['cat', url, '--range', '100-199']);
    expect(part.stdout.equals(data.subarray(100, 200))).toBe(true);
  });
});

describe('where the file goes', () => {
  it('-o an existing directory (or one ending in /) puts the object inside under its own name', async () => {
    const into = join(dir, 'into');
    mkdirSync(into);
    expect((await run(['get', 's3://b/data.bin', '-o', into, '-q'])).code).toBe(0);
    expect(readFileSync(join(into, 'data.bin')).equals(data)).toBe(true);
    expect((await run(['get', 's3://b/data.bin', '-o', join(dir, 'made') + '/', '-q'])).code).toBe(0);
    expect(readFileSync(join(dir, 'made', 'data.bin')).equals(data)).toBe(true);
  });

  it('-r of a prefix without a trailing slash mirrors the tree below it (as aws s3 cp --recursive)', async () => {
    const out = join(dir, 'mirror');
    const r = await run(['get', '-r', 's3://b/m', '-o', out, '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'a', 'x.safetensors'), 'utf8')).toBe('m/a/x.safetensors');
    expect(readFileSync(join(out, 'readme.md'), 'utf8')).toBe('m/readme.md');
  });

  it('plain local paths are accepted wherever file:// is', async () => {
    const src = join(dir, 'local-src.bin');
    writeFileSync(src, data);
    const r = await run(['get', src, '-o', join(dir, 'local-copy.bin'), '-q']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'local-copy.bin')).equals(data)).toBe(true);
    expect((await run(['stat', src])).stdout.toString()).toMatch(new RegExp(`size:\\s+${data.length}`));
  });
});

describe('what aws-cli, s5cmd and rclone users reach for', () => {
  it('--include / --exclude pick keys below the prefix, the last match deciding; --dry-run fetches nothing', async () => {
    const out = join(dir, 'picked');
    const dry = await run(['get', '-r', 's3://b/m/', '-o', out, '--exclude', '*', '--include', '*.safetensors', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/would get a\/x\.safetensors/);
    expect(dry.stderr).toMatch(/would get b\/y\.safetensors/);
    expect(dry.stderr).not.toMatch(/readme|optimizer/);
    expect(existsSync(out)).toBe(false);
    expect((await run(['get', '-r', 's3://b/m/', '-o', out, '--exclude', '*/optimizer/*', '-q'])).code).toBe(0);
    expect(readdirSync(join(out, 'a'))).toEqual(['x.safetensors']);
    expect(readFileSync(join(out, 'readme.md'), 'utf8')).toBe('m/readme.md');
  });

  it('keys with control characters are escaped in what --dry-run and the summary print, paths included', async () => {
    server.put('e', 'esc2/\x1b]0;pwned\x07.bin', Buffer.from('x'));
    const out = join(dir, 'esc2');
    const dry = await run(['get', '-r', 's3://e/esc2/', '-o', out, '--dry-run']);
    expect(dry.stderr).toMatch(/would get \\x1b\]0;pwned\\x07\.bin .*→ .*\\x1b\]0;pwned\\x07\.bin/);
    expect(dry.stderr).not.toMatch(/[\x07\x1b]/);
    const one = await run(['get', 's3://e/esc2/\x1b]0;pwned\x07.bin', '-o', join(dir, 'esc-one') + '/']);
    expect(one.code).toBe(0);
    expect(one.stderr).not.toMatch(/[\x07\x1b]/);
  });

  it('--skip-unchanged skips a file of the same size and time; --no-clobber keeps any file', async () => {
    const out = join(dir, 'sync');
    expect((await run(['get', '-r', 's3://b/m/', '-o', out, '-q'])).code).toBe(0);
    const before = statSync(join(out, 'readme.md')).mtimeMs;
    const sent = server.stats.bytesSent;
    const again = await run(['get', '-r', 's3://b/m/', '-o', out, '--skip-unchanged']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/4 skipped/);
    expect(server.stats.bytesSent).toBe(sent); // the listing decided: nothing fetched
    writeFileSync(join(out, 'readme.md'), 'changed locally!');
    const third = await run(['get', '-r', 's3://b/m/', '-o', out, '--skip-unchanged', '-q']);
    expect(third.code).toBe(0);
    expect(readFileSync(join(out, 'readme.md'), 'utf8')).toBe('m/readme.md');
    expect(statSync(join(out, 'readme.md')).mtimeMs).toBe(before); // stamped with the object's time again
    writeFileSync(join(out, 'readme.md'), 'mine');
    const kept = await run(['get', 's3://b/m/readme.md', '-o', join(out, 'readme.md'), '--no-clobber']);
    expect(kept.code).toBe(0);
    expect(kept.stderr).toMatch(/skipped .*--no-clobber/);
    expect(readFileSync(join(out, 'readme.md'), 'utf8')).toBe('mine');
  });

  it('--no-sign-request sends no credentials; --endpoint-url is --endpoint', async () => {
    const out = join(dir, 'anon.bin');
    const r = await run(['get', 's3://b/data.bin', '-o', out, '--no-sign-request', '--endpoint-url', server.url, '-q'], { AWS_ENDPOINT_URL: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(r.stderr).toBe('');
    expect(readFileSync(out).equals(data)).toBe(true);
  });
});

describe('local faults are named as local', () => {
  const mounted = (() => {
    if (process.getuid?.() !== 0) return undefined;
    const at = join(dir, 'tiny');
    mkdirSync(at, { recursive: true });
    return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at]).status === 0 ? at : undefined;
  })();
  afterAll(() => {
    if (mounted) spawnSync('umount', [mounted]);
  });

  it.skipIf(!mounted)('a full disk is LocalIO (exit 6) naming the path, no temporary file left; -r counts only what was written', async () => {
    const r = await run(['get', 's3://b/data.bin', '-o', join(mounted!, 'x.bin')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/LocalIO: no space left on the device: .*x\.bin/);
    expect(r.stderr).not.toMatch(/service kept failing|credentials|\n\s+at /);
    expect(readdirSync(mounted!)).toEqual([]);
    const many = await run(['get', '-r', 's3://b/', '-o', join(mounted!, 'all'), '--exclude', 'm/*']);
    expect(many.code).toBe(6);
    expect(many.stderr).toMatch(/0 of 1 objects .*: 0 B in/);
  });

  it('a read-only directory is LocalIO, not the credentials', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    const readOnly = process.getuid?.() === 0 ? spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status === 0 : (spawnSync('chmod', ['555', ro]), true);
    try {
      const r = await run(['get', 's3://b/data.bin', '-o', join(ro, 'x.bin')]);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/LocalIO: (read-only file system|permission denied)/);
      expect(r.stderr).not.toMatch(/credentials/);
    } finally {
      if (readOnly && process.getuid?.() === 0) spawnSync('umount', [ro]);
    }
  });

  it.skipIf(!existsSync('/dev/full'))('cat into /dev/full is one line and exit 6, no stack trace', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile('sh', ['-c', `"${process.execPath}" "${cli}" cat s3://b/data.bin > /dev/full`], { env: { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } }, (err, _o, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(r.code).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/LocalIO: no space left on the device: stdout/);
  });
});

describe('what the command prints', () => {
  it('--json of get -o - and get carries stats and pool stats; a slow --range rate is rounded', async () => {
    const j = await run(['get', 's3://b/data.bin', '-o', '-', '--json']);
    const report = JSON.parse(j.stderr);
    expect(report.stats).toMatchObject({ bytes: data.length });
    expect(report.pool).toMatchObject({ inUseBytes: 0 });
    const part = await run(['get', 's3://b/data.bin', '--range', '0-99', '-o', join(dir, 'r.bin')]);
    expect(part.stderr).toMatch(/100 B in [\d.]+ s \(\d+(\.\d)? [KMG]?i?B\/s/);
    expect(part.stderr).not.toMatch(/\d\.\d{3,}/);
  });

  it('--verify where no checksum exists, and ls of an http URL, say what to do instead', async () => {
    const src = join(dir, 'no-checksum.bin');
    writeFileSync(src, data); // a local file has no checksum kept beside it
    const v = await run(['get', src, '-o', join(dir, 'v.bin'), '--verify']);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/no whole-object checksum .*without .*--verify/);
    const ls = await run(['ls', `${s3rver.endpoint}/sr/`]);
    expect(ls.stderr).toMatch(/give each object's URL to get, stat or cat/);
  });

  it('the AWS SDK says nothing about Node versions on a CLI run', async () => {
    const r = await run(['stat', 's3://b/data.bin']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
