// Against a TLS 1.3 server we did not write: nginx (OpenSSL's record sizes, its session tickets, its
// keep-alive), through the public API, on whichever TLS path the project runs (the addon's by default,
// Node's under RANGEPOOL_NATIVE_TLS=0). Skipped, saying how to get it, where nginx is not installed.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RangeEngine, defaultPool, getObject, getRange, release } from '../../src/index.js';
import { nginxMissing, startNginx, type Nginx } from '../../testing/nginx.js';
import { until } from '../support/wait.js';

const missing = nginxMissing();
const path = process.env.RANGEPOOL_NATIVE_TLS === '0' ? 'node' : 'native';
const data = randomBytes((40 << 20) + 12_345);
let nginx: Nginx;
let base: string;

describe.skipIf(missing)(`nginx over TLS 1.3, ${path} path${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'rangepool-nginx-tls-'));
    chmodSync(base, 0o755);
    mkdirSync(join(base, 'www', 'bench'), { recursive: true });
    writeFileSync(join(base, 'www', 'bench', 'obj'), data, { mode: 0o644 });
    nginx = await startNginx({ root: join(base, 'www'), prefix: join(base, 'nginx') });
  });
  afterAll(async () => {
    await nginx?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  const engine = () => new RangeEngine({ partSize: 4 << 20, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 } });

  it('an https:// URL and s3:// (path-style, presigned) read byte-exact', async () => {
    const before = defaultPool().stats().inUseBytes;
    for (const [uri, storeOptions] of [
      [`${nginx.https}/bench/obj`, { tls: { ca: nginx.ca } }],
      ['s3://bench/obj', { endpoint: nginx.https, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, tls: { ca: nginx.ca } }],
    ] as const) {
      const obj = await getObject(uri, { storeOptions, engine: engine(), cache: false });
      expect(obj.buffer.equals(data), uri).toBe(true);
      expect(obj.stats).toMatchObject({ transport: 'direct', tls: path });
      expect(obj.stats.ranges).toBeGreaterThan(5);
      release(obj.buffer);
    }
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
  });

  it('ranges at odd offsets, many on kept-alive connections', async () => {
    const before = defaultPool().stats().inUseBytes;
    const e = engine();
    for (const [offset, length] of [[1, 17], [16_383, 16_390], [(8 << 20) - 3, 9 << 20], [data.length - 5, 5]] as const) {
      const got = await getRange(`${nginx.https}/bench/obj`, offset, length, { storeOptions: { tls: { ca: nginx.ca } }, engine: e, cache: false });
      expect(got.equals(data.subarray(offset, offset + length))).toBe(true);
      release(got);
    }
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back'); // (a released block returns at the next turn)
  });

  it('an abort mid-body ends the download with Aborted, and the pool is back', async () => {
    const before = defaultPool().stats().inUseBytes;
    const ac = new AbortController();
    const err = await getObject(`${nginx.https}/bench/obj`, {
      storeOptions: { tls: { ca: nginx.ca } },
      engine: engine(),
      cache: false,
      signal: ac.signal,
      onProgress: ({ bytes }) => bytes > 4 << 20 && ac.abort(),
    }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'Aborted' });
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
  });
});
