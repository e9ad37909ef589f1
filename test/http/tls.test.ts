// The direct transport over TLS: a loopback HTTPS server with a certificate made at test time. Its CA is
// trusted only when given; verification is never off by default.
import { randomBytes } from 'node:crypto';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RangeEngine, defaultPool, getObject, release } from '../../src/index.js';
import { Connection } from '../../src/http/connection.js';
import { S3Store } from '../../src/stores/s3.js';
import { partial, startRawServer } from '../support/raw-http-server.js';
import { until } from '../support/wait.js';

const data = randomBytes((3 << 20) + 5);
const engine = new RangeEngine({ partSize: 1 << 20, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
let server: Awaited<ReturnType<typeof startRawServer>>;
let cert: string;

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  cert = pems.cert;
  server = await startRawServer({ key: pems.private, cert: pems.cert });
  server.script((req, s) => s.write(partial(data, req.headers.range)));
});
afterAll(() => server.close());

it('reads ranges over TLS into pooled memory, byte-exact, with the CA given in storeOptions.tls', async () => {
  const before = defaultPool().stats().inUseBytes;
  const store = new S3Store({ endpoint: server.url, credentials, tls: { ca: cert } });
  const obj = await getObject('s3://b/k', { store, engine, cache: false });
  expect(obj.stats.transport).toBe('direct');
  expect(obj.stats.ranges).toBe(4);
  expect(obj.buffer.equals(data)).toBe(true);
  release(obj.buffer);
  await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
});

it('an untrusted certificate is refused with a typed error that says what to set', async () => {
  const store = new S3Store({ endpoint: server.url, credentials });
  const err = await getObject('s3://b/k', { store, engine, cache: false }).catch((e) => e);
  expect(err).toMatchObject({ code: 'AccessDenied', message: expect.stringContaining('NODE_EXTRA_CA_CERTS') });
});

it('bytes TLS keeps handing over after reading stops (while a body waits for its buffer) queue in order, never over unread ones', async () => {
  const body = randomBytes(512 * 1024);
  server.script((_req, s) => s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body])));
  const url = new URL(server.url);
  for (let round = 0; round < 5; round++) {
    const c = new Connection({ protocol: 'https:', hostname: url.hostname, port: Number(url.port) }, { ca: cert });
    await c.send('GET /x HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 30)); // the head is read; the body has arrived and been decrypted
    const dest = Buffer.alloc(body.length);
    expect(await c.readBody(dest)).toBe(body.length);
    expect(dest.equals(body)).toBe(true);
    expect(c.reusable).toBe(true);
    c.destroy();
  }
});

it('a redirect from https: to http: is refused, naming both schemes, unless allowInsecureRedirects is set', async () => {
  const plain = await startRawServer();
  plain.script((req, s) => s.write(partial(data, req.headers.range)));
  server.script((_req, s) => s.write(`HTTP/1.1 302 Found\r\nlocation: ${plain.url}/k?sig=SECRET\r\ncontent-length: 0\r\n\r\n`));
  try {
    const before = defaultPool().stats().inUseBytes;
    const err = await getObject(`${server.url}/k`, { engine, cache: false, storeOptions: { tls: { ca: cert } } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/from https: to http:.*sig=REDACTED.*allowInsecureRedirects/) });
    expect(plain.requests).toHaveLength(0); // not one byte in clear text
    const obj = await getObject(`${server.url}/k`, { engine, cache: false, storeOptions: { tls: { ca: cert }, allowInsecureRedirects: true } });
    expect(obj.buffer.equals(data)).toBe(true);
    release(obj.buffer);
    await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
  } finally {
    server.script((req, s) => s.write(partial(data, req.headers.range)));
    await plain.close();
  }
});
