// The direct transport against a server that misbehaves on purpose: every way an HTTP/1.1 response can
// be split, lie, stop or overflow ends in exact bytes or a typed error, and the pool back where it was.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RangeEngine, defaultPool, getObject, getRange, release, type GetOptions } from '../../src/index.js';
import { Connection } from '../../src/http/connection.js';
import { S3Store } from '../../src/stores/s3.js';
import { prng } from '../../testing/prng.js';
import { partial, startRawServer } from '../support/raw-http-server.js';
import { until } from '../support/wait.js';

const KiB = 1024;
const data = randomBytes(200 * KiB + 17);
let server: Awaited<ReturnType<typeof startRawServer>>;
let store: S3Store;
let startInUse: number;
const engine = new RangeEngine({ partSize: 64 * KiB, concurrency: 2, stallTimeoutMs: 300, retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 } });
const opts = (more: GetOptions = {}): GetOptions => ({ store, engine, cache: false, ...more });
const fetchObject = (more?: GetOptions) => getObject('s3://b/k', opts(more));

async function expectExact(more?: GetOptions) {
  const obj = await fetchObject(more);
  expect(obj.buffer.equals(data)).toBe(true);
  release(obj.buffer);
  return obj.stats;
}

beforeAll(async () => {
  server = await startRawServer();
  store = new S3Store({ endpoint: server.url, credentials: { accessKeyId: 'AKIDSECRETLESS', secretAccessKey: 'do-not-print-me' }, transport: 'direct' });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  startInUse = defaultPool().stats().inUseBytes;
});
afterEach(async () => {
  await until(() => defaultPool().stats().inUseBytes === startInUse, 'the pool back to where the test started');
});

describe('response framing', () => {
  it('a head that arrives one byte at a time', async () => {
    server.script((req, s) => {
      const bytes = partial(data, req.headers.range);
      const headEnd = bytes.indexOf('\r\n\r\n') + 4;
      let i = 0;
      const next = () => {
        if (s.destroyed) return;
        if (i < headEnd) s.write(bytes.subarray(i, ++i), () => setTimeout(next, 0));
        else s.write(bytes.subarray(headEnd));
      };
      next();
    });
    await expectExact();
  });

  it('head bytes and body bytes in one write are split correctly (moved once)', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range)));
    const stats = await expectExact();
    expect(stats.transport).toBe('direct');
    expect(stats.requests).toBe(4);
  });

  it('a head larger than 16 KiB is a typed error, not retried, and the socket is dropped', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range, { 'x-junk': 'a'.repeat(20 * KiB) })));
    await expect(fetchObject()).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringContaining('larger than 16384') });
    expect(server.requests).toHaveLength(1);
    await until(() => server.closed(server.requests[0]!.connection), 'the socket closed');
  });

  it('Transfer-Encoding: chunked is decoded straight into the target', async () => {
    server.script((req, s) => {
      const bytes = partial(data, req.headers.range, { 'content-length': undefined, 'transfer-encoding': 'chunked' });
      const headEnd = bytes.indexOf('\r\n\r\n') + 4;
      s.write(bytes.subarray(0, headEnd));
      const body = bytes.subarray(headEnd);
      for (let at = 0, n = 1; at < body.length; at += n, n = Math.min(n * 3, 9000)) {
        const chunk = body.subarray(at, at + n);
        s.write(`${chunk.length.toString(16)};ext=1\r\n`);
        s.write(chunk);
        s.write('\r\n');
      }
      s.write('0\r\nx-trailer: yes\r\n\r\n');
    });
    await expectExact();
  });

  it('a body delimited by the connection closing (no Content-Length)', async () => {
    server.script((req, s) => s.end(partial(data, req.headers.range, { 'content-length': undefined, connection: 'close' })));
    await expectExact();
    expect(new Set(server.requests.map((r) => r.connection)).size).toBe(server.requests.length);
  });

  it('Connection: close: every request on its own connection, all exact', async () => {
    server.script((req, s) => s.end(partial(data, req.headers.range, { connection: 'close' })));
    await expectExact();
    expect(new Set(server.requests.map((r) => r.connection)).size).toBe(4);
  });

  it('keep-alive: the connection is reused when a response was read to its end', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range)));
    await expectExact({ concurrency: 1 });
    expect(new Set(server.requests.map((r) => r.connection)).size).toBeLessThan(server.requests.length);
  });

  it('a Content-Length that is not the range asked for is an IntegrityError', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range, { 'content-length': 100 })));
    await expect(fetchObject()).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringContaining('Content-Length 100') });
  });

  it('more body than Content-Length promised poisons the connection, never the next response', async () => {
    server.script((req, s) => s.write(Buffer.concat([partial(data, req.headers.range), Buffer.from('garbage')])));
    await expectExact({ concurrency: 1 });
  });
});

describe('real sockets, random write sizes', () => {
  // The in-process fuzz (segmentation.test.ts) controls every read; this one goes through the kernel,
  // the pool and the engine: the server writes each response in random pieces of 1-64 bytes.
  const seed = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  it.each(['chunked', 'content-length'])(`%s responses in random small writes are byte-exact (seed ${seed})`, { timeout: 60_000 }, async (framing) => {
    const random = prng(seed);
    server.script((req, s) => {
      const headers = framing === 'chunked' ? { 'content-length': undefined, 'transfer-encoding': 'chunked' } : {};
      const bytes = partial(data, req.headers.range, headers);
      const headEnd = bytes.indexOf('\r\n\r\n') + 4;
      let wire = bytes;
      if (framing === 'chunked') {
        const body = bytes.subarray(headEnd);
        const parts: Buffer[] = [bytes.subarray(0, headEnd)];
        for (let at = 0; at < body.length; ) {
          const n = Math.min(body.length - at, 1 + Math.floor(random() * 3000));
          parts.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(at, at + n), Buffer.from('\r\n'));
          at += n;
        }
        wire = Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
      }
      let at = 0;
      const next = () => {
        if (s.destroyed || at >= wire.length) return;
        const n = 1 + Math.floor(random() * 64);
        s.write(wire.subarray(at, (at += n)), () => setImmediate(next));
      };
      next();
    });
    for (let i = 0; i < 4; i++) await expectExact();
  });
});

describe('what a response says is checked', () => {
  it('a 200 with the whole object answers the first request alone', async () => {
    server.script((_req, s) => s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${data.length}\r\netag: "v1"\r\n\r\n`), data])));
    const stats = await expectExact();
    expect(stats.requests).toBe(1);
  });

  it('a 200 for a later range (server ignores Range) is an IntegrityError', async () => {
    server.script((req, s) =>
      s.write(req.headers.range!.startsWith('bytes=0-') ? partial(data, req.headers.range) : Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${data.length}\r\netag: "v1"\r\n\r\n`), data])),
    );
    await expect(fetchObject()).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringContaining('HTTP 200 without a range') });
  });

  it('a wrong Content-Range is an IntegrityError', async () => {
    server.script((req, s) => {
      const start = Number(/bytes=(\d+)/.exec(req.headers.range!)![1]);
      s.write(start === 0 ? partial(data, req.headers.range) : partial(data, `bytes=${start + 1}-${start + 64 * KiB}`));
    });
    await expect(fetchObject()).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringMatching(/asked for bytes \d+-\d+, got/) });
  });

  it.each(['transfer-encoding', 'content-length'])('a backwards Content-Range on the first response (%s) is an IntegrityError', async (framing) => {
    server.script((req, s) => {
      const body = data.subarray(5, 11);
      const framed = framing === 'content-length' ? { 'content-length': body.length } : { 'content-length': undefined, 'transfer-encoding': 'chunked' };
      const head = Object.entries({ ...framed, 'content-range': 'bytes 5-3/100', etag: '"v1"' }).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      s.write(`HTTP/1.1 206 Partial Content\r\n${head}\r\n`);
      s.write(framing === 'content-length' ? body : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]));
    });
    await expect(getRange('s3://b/k', 5, 6, opts())).rejects.toMatchObject({ code: 'IntegrityError', message: expect.stringContaining('bytes 5-3/100') });
  });

  it('an ETag other than the pinned one is PreconditionFailed, never mixed bytes (a server that ignores If-Match)', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range, { etag: req.headers.range!.startsWith('bytes=0-') ? '"v1"' : '"v2"' })));
    await expect(fetchObject()).rejects.toMatchObject({ code: 'PreconditionFailed', message: expect.stringContaining('"v2" was served') });
    expect(server.requests.slice(1).every((r) => r.headers['if-match'] === '"v1"')).toBe(true);
  });

  it('a later response without an ETag cannot be checked against the pin: PreconditionFailed', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range, { etag: req.headers.range!.startsWith('bytes=0-') ? '"v1"' : undefined })));
    await expect(fetchObject()).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('a 416 is InvalidArgument', async () => {
    server.script((req, s) =>
      s.write(req.headers.range!.startsWith('bytes=0-') ? partial(data, req.headers.range) : 'HTTP/1.1 416 Range Not Satisfiable\r\ncontent-length: 0\r\n\r\n'),
    );
    await expect(fetchObject()).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

/** The most a loopback connection's socket buffers hold: the kernel's largest receive plus send buffer. */
function socketBuffers(): number {
  const max = (name: string) => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]);
    } catch {
      return 4 << 20;
    }
  };
  return max('tcp_rmem') + max('tcp_wmem');
}

describe('errors from the server', () => {
  const xml = (code: string, message: string) => `<?xml version="1.0"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  const reply = (status: number, body: string, extra = '') => `HTTP/1.1 ${status} X\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

  it.each([
    [403, 'AccessDenied', 'AccessDenied'],
    [404, 'NoSuchKey', 'NotFound'],
    [412, 'PreconditionFailed', 'PreconditionFailed'],
    [503, 'SlowDown', 'Unavailable'],
  ])('HTTP %i %s maps to %s as on the SDK path, with the service code unless it only repeats ours', async (status, code, expected) => {
    server.script((_req, s) => s.write(reply(status, xml(code, 'nope'))));
    const err = await fetchObject().catch((e) => e);
    expect(err).toMatchObject({ code: expected, uri: 's3://b/k' });
    if (code === expected) expect(err.message).not.toContain(`(${code})`);
    else expect(err.message).toContain(`(${code})`);
  });

  it('a 403 (a presigned URL that expired in flight) is signed again once and asked again, not an error', async () => {
    let refused = 0;
    server.script((req, s) => (refused++ === 0 ? s.write(reply(403, xml('AccessDenied', 'Request has expired'))) : s.write(partial(data, req.headers.range))));
    const stats = await expectExact();
    expect(stats.retries).toBe(0);
    expect(server.requests.filter((r) => r.headers.range === `bytes=0-${64 * KiB - 1}`)).toHaveLength(2);
  });

  it('a presigned GET is never reused past the expiry of the temporary credentials it was signed with', async () => {
    server.script((req, s) => s.write(partial(data, req.headers.range)));
    const tokens = async (expiresInMs: number) => {
      let n = 0;
      const provider = async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: `token${n++}`, expiration: new Date(Date.now() + expiresInMs) });
      server.requests.length = 0;
      const obj = await getObject('s3://b/k', { ...opts({ concurrency: 1 }), store: new S3Store({ endpoint: server.url, credentials: provider, transport: 'direct' }) });
      release(obj.buffer);
      return new Set(server.requests.map((r) => new URL(r.path, 'http://x').searchParams.get('X-Amz-Security-Token')));
    };
    expect((await tokens(30_000)).size).toBe(4); // expiring within the margin: each range signed afresh
    expect((await tokens(3_600_000)).size).toBe(1); // an hour left: one signature serves the object
  });

  it('a GCS-style JSON error body gives its reason', async () => {
    server.script((_req, s) => s.write(reply(403, JSON.stringify({ error: { code: 403, message: 'no', errors: [{ reason: 'forbidden' }] } }))));
    await expect(fetchObject()).rejects.toMatchObject({ code: 'AccessDenied', message: expect.stringContaining('(forbidden)') });
  });

  it('a redirect names the bucket\'s region', async () => {
    server.script((_req, s) => s.write(reply(301, xml('PermanentRedirect', 'use the right endpoint'), 'x-amz-bucket-region: eu-west-1\r\n')));
    await expect(fetchObject()).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('region eu-west-1') });
  });

  it('an endless error body is read to 64 KiB at most, then the connection is dropped', async () => {
    server.script((_req, s) => {
      s.write('HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n');
      const more = () => {
        if (!s.destroyed) s.write(`4000\r\n${'<'.repeat(0x4000)}\r\n`, () => setImmediate(more));
      };
      more();
    });
    await expect(fetchObject({ engine: new RangeEngine({ retry: { retries: 0 } }) })).rejects.toMatchObject({ code: 'Unavailable' });
    await until(() => server.closed(server.requests[0]!.connection), 'the server sees the connection closed');
    // What the socket buffers can hold (both ends' at their largest), not an endless body: how much of that
    // the server got to fill before the drop depends on how soon the reader ran (a busy machine, a thread).
    expect(server.bytesWritten(server.requests[0]!.connection)).toBeLessThan(socketBuffers());
  });

  it('control characters from the server never reach an error message raw; credentials never appear', async () => {
    server.script((_req, s) => s.write(reply(403, xml('Evil\x1b]0;pwned\x07', 'x'))));
    const err = await fetchObject().catch((e) => e);
    expect(err.code).toBe('AccessDenied');
    const text = `${err.message} ${err.cause?.message} ${err.stack}`;
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f]/);
    expect(text).toContain('\\x1b');
    expect(text).not.toContain('do-not-print-me');
  });
});

describe('connections that break', () => {
  it('a kept-alive connection the server closes as the next request arrives: retried on a fresh one, not counted', async () => {
    server.script((req, s) => (req.onConnection === 1 ? s.destroy() : s.write(partial(data, req.headers.range))));
    // A store of its own: its connections start fresh, whatever earlier tests left idle.
    const own = new S3Store({ endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, transport: 'direct' });
    const stats = await expectExact({ concurrency: 1, store: own });
    expect(stats.retries).toBe(0);
    expect(server.requests.length).toBeGreaterThan(stats.requests);
  });

  it('a reset mid-body resumes from the last byte received', async () => {
    let broke = false;
    server.script((req, s) => {
      const bytes = partial(data, req.headers.range);
      if (!broke && req.headers.range === `bytes=${64 * KiB}-${128 * KiB - 1}`) {
        broke = true;
        s.write(bytes.subarray(0, bytes.length - 1000), () => s.destroy());
      } else s.write(bytes);
    });
    const stats = await expectExact();
    expect(stats.retries).toBe(1);
    expect(server.requests.filter((r) => r.headers.range === `bytes=${128 * KiB - 1000}-${128 * KiB - 1}`)).toHaveLength(1);
  });

  it('a stall mid-body is abandoned after stallTimeoutMs and resumed', async () => {
    let stalled = false;
    server.script((req, s) => {
      const bytes = partial(data, req.headers.range);
      if (!stalled && req.headers.range!.startsWith(`bytes=${64 * KiB}-`)) {
        stalled = true;
        s.write(bytes.subarray(0, 5000)); // and nothing more
      } else s.write(bytes);
    });
    const stats = await expectExact();
    expect(stats.retries).toBe(1);
  });

  it('abort destroys the socket and the destination is not written after the promise settles', async () => {
    let socket: import('node:net').Socket | undefined;
    server.script((_req, s) => {
      socket = s;
      s.write(`HTTP/1.1 206 Partial Content\r\ncontent-length: ${1 << 20}\r\ncontent-range: bytes 0-${(1 << 20) - 1}/${1 << 20}\r\n\r\n`);
      s.write(Buffer.alloc(1000, 1));
    });
    const url = new URL(server.url);
    const c = new Connection({ protocol: 'http:', hostname: url.hostname, port: Number(url.port) });
    const ac = new AbortController();
    await c.send('GET /x HTTP/1.1\r\nhost: x\r\n\r\n', ac.signal);
    const dest = Buffer.alloc(1 << 20);
    let seen = 0;
    const body = c.readBody(dest, { signal: ac.signal, onData: (n) => (seen += n) });
    await until(() => seen >= 1000, 'the first bytes');
    ac.abort(new Error('stop'));
    await expect(body).rejects.toThrow('stop');
    const snapshot = Buffer.from(dest);
    socket!.write(Buffer.alloc(100_000, 2));
    await new Promise((r) => setTimeout(r, 100));
    expect(dest.equals(snapshot)).toBe(true);
    expect(c.socket.destroyed).toBe(true);
  });
});
