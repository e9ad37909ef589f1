// A download's file is reserved before its bytes arrive (src/files/file-space.ts, the addon's fallocate): an
// object that cannot fit fails at once with LocalIO, before its bytes are fetched, and leaves nothing behind.
// Runs on a 4 MiB tmpfs of its own; skipped, saying why, where one cannot be mounted (not root, no mount).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RangeEngine, defaultPool, download } from '../src/index.js';
import { startObjectServer } from '../testing/object-server/index.js';
import { scratchMount } from './support/scratch-mount.js';
import { until } from './support/wait.js';

const MiB = 1 << 20;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const mount = scratchMount('tmpfs', 'a 4 MiB tmpfs', 'size=4m');
const cannot = mount.cannot;
const mountPoint = mount.at;
const preallocates = process.platform === 'linux' && process.env.RANGEPOOL_NO_PREALLOCATE !== '1';

describe.skipIf(cannot || !preallocates)(`an object larger than the free space${cannot ? ` (skipped: ${cannot})` : ''}`, () => {
  let server: Awaited<ReturnType<typeof startObjectServer>>;
  const big = randomBytes(24 * MiB);
  const small = randomBytes(MiB);
  beforeAll(async () => {
    server = await startObjectServer();
    server.put('b', 'big', big);
    server.put('b', 'small', small);
  });
  afterAll(async () => {
    await server?.close();
    mount.unmount();
  });

  it('download(): LocalIO naming the path before a byte of the body lands; nothing left behind, the pool back', async () => {
    const before = defaultPool().stats().inUseBytes;
    let landed = 0;
    const sent = server.stats.bytesSent;
    const err = await download('s3://b/big', join(mountPoint, 'big.bin'), {
      storeOptions: { endpoint: server.url, credentials },
      engine: new RangeEngine({ partSize: 4 * MiB }),
      onProgress: ({ bytes }) => (landed = Math.max(landed, bytes)),
    }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'LocalIO', message: expect.stringMatching(/no space left on the device: .*big\.bin/) });
    expect(landed).toBe(0);
    // Only the first response (which said how big the object is) was ever asked for; without the
    // reservation the download ran until the file system was full, 4 MiB and more later.
    expect(server.stats.bytesSent - sent).toBeLessThan(4 * MiB + 4096);
    expect(readdirSync(mountPoint)).toEqual([]);
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
  });

  it('rangepool get: exit 6 with the reason; an object that fits is then written whole', async () => {
    const env = { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
    const get = (key: string, out: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [cli, 'get', `s3://b/${key}`, '-o', out, '-q'], { env }, (e, _o, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stderr })),
      );
    const r = await get('big', join(mountPoint, 'big.bin'));
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/LocalIO: no space left on the device: .*big\.bin/);
    expect(readdirSync(mountPoint)).toEqual([]);
    expect((await get('small', join(mountPoint, 'small.bin'))).code).toBe(0);
    expect(readFileSync(join(mountPoint, 'small.bin')).equals(small)).toBe(true);
  });
});
