// The native TLS reader (src/http/native-tls.ts, native/tls_reader.cc) against Node's own TLS server,
// through a proxy that rewrites the server's records (test/support/tls-record-proxy.ts): random record
// sizes, padding, empty records, NewSessionTickets mid-body (whole and cut across records) and random TCP
// pieces, under every response framing; then every way a record stream can be wrong. A failure prints the
// seed that replays it: RANGEPOOL_FUZZ_SEED=<seed> npx vitest run test/http/native-tls.test.ts
import { randomBytes } from 'node:crypto';
import { createServer, type TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection, ConnectionError } from '../../src/http/connection.js';
import { RangeEngine, defaultPool, getObject, release } from '../../src/index.js';
import { S3Store } from '../../src/stores/s3.js';
import { partial } from '../support/raw-http-server.js';
import { until } from '../support/wait.js';
import { NativeTlsSocket, tlsCounters } from '../../src/http/native-tls.js';
import { binding } from '../../src/native.js';
import { prng } from '../../testing/prng.js';
import { destroyedNeverWrites, readsExact, readsExchange } from '../support/native-reader.js';
import { randomExchange } from '../support/http-responses.js';
import { startRecordProxy, type Editor, type OutRecord } from '../support/tls-record-proxy.js';

const CASES = Number(process.env.RANGEPOOL_FUZZ_CASES ?? 60);
const SEED = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const native = process.env.RANGEPOOL_NATIVE_TLS !== '0';

let cert: string;
let key: string;
/** What the server answers on each request, in order, per connection: the bytes, and whether to close after. */
let script: (connection: number, request: number, head: string) => { bytes: Buffer; end?: boolean } = () => ({ bytes: Buffer.from('HTTP/1.1 500 x\r\ncontent-length: 0\r\n\r\n') });
let connections = 0;
/** The server's side of each connection it accepted, in order. */
const serverSockets: TLSSocket[] = [];
let server: ReturnType<typeof createServer>;
let proxy: Awaited<ReturnType<typeof startRecordProxy>>;

function startServer(options: object = {}) {
  const s = createServer({ key, cert, ...options }, (socket: TLSSocket) => {
    const connection = connections++;
    serverSockets.push(socket);
    let request = 0;
    let pending = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const r = script(connection, request++, head);
        if (r.end) socket.end(r.bytes);
        else socket.write(r.bytes);
      }
    });
  });
  return new Promise<ReturnType<typeof createServer>>((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  cert = pems.cert;
  key = pems.private;
  server = await startServer();
  proxy = await startRecordProxy({ port: (server.address() as { port: number }).port });
  proxy.watch(server);
});
afterAll(async () => {
  await proxy.close();
  server.close();
});

function open(port = proxy.port): Connection {
  return new Connection({ protocol: 'https:', hostname: '127.0.0.1', port }, { ca: cert });
}

const ok = (body: Buffer, extra = '') => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}${extra}\r\n\r\n`), body]);

it(`takes the path RANGEPOOL_NATIVE_TLS asks for (${native ? 'native' : "Node's"}), byte-exact, with few JavaScript calls per body`, async () => {
  expect(binding?.tlsAvailable).toBe(true); // Linux with the addon: the fast path must be there to test
  proxy.set({});
  const body = randomBytes(8 << 20);
  script = () => ({ bytes: ok(body) });
  const c = open();
  const events = tlsCounters.events;
  await readsExact(c, body, 3);
  const socket = c.socket as unknown as NativeTlsSocket;
  if (native) {
    expect(socket).toBeInstanceOf(NativeTlsSocket);
    expect(socket.path).toBe('native');
    expect(socket.records).toBeGreaterThanOrEqual((3 * body.length) / 16384);
    // A head and then 1 MiB pieces: 3 × (1 + 8), give or take a piece cut by a quiet socket.
    expect(tlsCounters.events - events).toBeLessThanOrEqual(3 * 12);
  } else expect(socket).not.toBeInstanceOf(NativeTlsSocket);
  c.destroy();
});

describe.each(native ? ['aes-128', 'aes-256', 'chacha20'] : [])('suite %s', (suite) => {
  const name = { 'aes-128': 'TLS_AES_128_GCM_SHA256', 'aes-256': 'TLS_AES_256_GCM_SHA384', chacha20: 'TLS_CHACHA20_POLY1305_SHA256' }[suite]!;
  it('is read natively, byte-exact', async () => {
    const only = await startServer({ ciphers: name });
    const body = randomBytes(300_000);
    script = () => ({ bytes: ok(body) });
    const c = open((only.address() as { port: number }).port);
    await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const dest = Buffer.alloc(body.length);
    expect(await c.readBody(dest)).toBe(body.length);
    expect(dest.equals(body)).toBe(true);
    expect((c.socket as unknown as NativeTlsSocket).path).toBe('native');
    c.destroy();
    only.close();
  });
});

/** Random record shapes: each application record cut in random pieces with padding, empty records and tickets between. */
function shuffler(random: () => number): Editor {
  // A well-formed NewSessionTicket (RFC 8446 §4.6.1): before the hand-over Node's own TLS reads it too.
  const ticket = (n: number) => {
    const body = Buffer.concat([randomBytes(8), Buffer.from([8]), randomBytes(8), Buffer.from([n >> 8, n & 0xff]), randomBytes(n), Buffer.from([0, 0])]);
    return Buffer.concat([Buffer.from([4, 0, body.length >> 8, body.length & 0xff]), body]);
  };
  return ({ type, content }) => {
    const out: OutRecord[] = [];
    if (random() < 0.05) out.push({ type: 23, content: Buffer.alloc(0), pad: Math.floor(random() * 20) });
    if (random() < 0.05) out.push({ type: 22, content: ticket(100 + Math.floor(random() * 200)) });
    if (random() < 0.03) {
      const t = ticket(300);
      const cut = 1 + Math.floor(random() * (t.length - 1)); // a ticket cut across two records, even inside its header
      out.push({ type: 22, content: t.subarray(0, cut) }, { type: 22, content: t.subarray(cut) });
    }
    if (type !== 23) return [...out, { type, content }];
    for (let at = 0; at < content.length; ) {
      const n = Math.min(content.length - at, random() < 0.5 ? 1 + Math.floor(random() * 64) : 1 + Math.floor(random() * 16384));
      const pad = random() < 0.2 ? Math.floor(random() * Math.min(256, 16384 - n)) : 0;
      out.push({ type: 23, content: content.subarray(at, at + n), pad });
      at += n;
    }
    return out;
  };
}

it(`${CASES} random exchanges over random records and TCP pieces give exact bodies (seed ${SEED})`, { timeout: 120_000 }, async () => {
  for (let i = 0; i < CASES; i++) {
    const seed = (SEED + i * 7919) >>> 0;
    const random = prng(seed);
    const responses = randomExchange(random, 200_000);
    const tiny = random() < 0.3;
    proxy.set({ editor: shuffler(random), segmenter: (w) => Math.min(w, tiny ? 1 + Math.floor(random() * 7) : 1 + Math.floor(random() * 70_000)) });
    script = (_c, r) => ({ bytes: responses[r]!.bytes, end: !responses[r]!.keepAlive });
    const replay = `case seed ${seed} (${responses.map((r) => r.what).join(' | ')}); replay with RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_FUZZ_CASES=1`;
    const c = open();
    await readsExchange(c, responses, replay);
    if (native) expect((c.socket as unknown as NativeTlsSocket).path, replay).toBe('native');
    c.destroy();
  }
});

describe('a record stream that is wrong fails the connection with a typed error, and no byte of the bad record is handed on', () => {
  const body = randomBytes(1 << 20);
  const head = ok(body).length - body.length;

  /** Reads one response whose 12th application record the editor replaces with `bad`; what was delivered and how it ended. */
  async function readWith(bad: (record: { type: number; content: Buffer }) => OutRecord[]) {
    let before = -1; // application bytes sealed before the bad record
    let sent = 0;
    let n = 0;
    proxy.set({
      editor: (r) => {
        if (r.type !== 23) return [r];
        if (n++ === 12) {
          before = sent;
          return bad(r);
        }
        sent += r.content.length;
        return [r];
      },
    });
    script = () => ({ bytes: ok(body) });
    const c = open();
    await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const dest = Buffer.alloc(body.length);
    let delivered = 0;
    const error = await c.readBody(dest, { onData: (k) => (delivered += k) }).then(
      () => undefined,
      (e: Error) => e,
    );
    return { error, delivered, expected: before - head, exact: dest.subarray(0, delivered).equals(body.subarray(0, delivered)) };
  }

  it.each([
    ['a flipped ciphertext bit', (r: { content: Buffer }) => [{ type: 23, content: r.content, flip: 100 }], /record \d+ failed its integrity check/],
    ['a flipped tag bit', (r: { content: Buffer }) => [{ type: 23, content: r.content, flip: r.content.length + 1 + 3 }], /failed its integrity check/],
    ['a KeyUpdate', () => [{ type: 22, content: Buffer.from([24, 0, 0, 1, 0]) }], /KeyUpdate/],
    ['a handshake message other than a ticket', () => [{ type: 22, content: Buffer.from([8, 0, 0, 2, 0, 0]) }], /handshake message 8/],
    ['a fatal alert', () => [{ type: 21, content: Buffer.from([2, 40]) }], /alert 40/],
    ['an unknown content type', (r: { content: Buffer }) => [{ type: 99, content: r.content }], /content type 99/],
    ['a record over 2^14 + 256 bytes', () => [{ raw: Buffer.concat([Buffer.from([23, 3, 3, 0x41, 0x01]), randomBytes(0x4101)]) }], /more than 2\^14 \+ 256/],
    ['a record of another outer type', () => [{ raw: Buffer.from([21, 3, 3, 0, 2, 2, 40]) }], /outer type 21/],
    ['a record too short for its tag', () => [{ raw: Buffer.concat([Buffer.from([23, 3, 3, 0, 10]), randomBytes(10)]) }], /too short/],
  ] as const)('%s', async (_name, bad, message) => {
    const { error, delivered, expected, exact } = await readWith(bad as never);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).kind).toBe('closed');
    if (native) expect(String((error as ConnectionError).cause)).toMatch(message); // (Node's TLS words it its own way)
    expect(delivered).toBe(expected); // every byte before the bad record, none of it or after it
    expect(exact).toBe(true);
  });

  it('a stream cut inside a record', async () => {
    proxy.set({ cutAfter: 200_000 });
    script = () => ({ bytes: ok(body) });
    const c = open();
    await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const dest = Buffer.alloc(body.length);
    let delivered = 0;
    const error = await c.readBody(dest, { onData: (k) => (delivered += k) }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    if (native) expect(String((error as ConnectionError).cause)).toMatch(/ended inside a record/);
    expect(delivered).toBeGreaterThan(100_000);
    expect(delivered).toBeLessThan(200_000);
    expect(dest.subarray(0, delivered).equals(body.subarray(0, delivered))).toBe(true);
  });
});

it("close_notify mid-body: every byte before it is delivered, then the body fails as cut short", async () => {
  proxy.set({});
  const body = randomBytes(600_000);
  const half = 250_001;
  script = () => ({ bytes: Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body.subarray(0, half)]), end: true });
  const c = open();
  await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  const dest = Buffer.alloc(body.length);
  let delivered = 0;
  const error = await c.readBody(dest, { onData: (k) => (delivered += k) }).catch((e: Error) => e);
  expect(error).toMatchObject({ kind: 'closed', message: expect.stringContaining(`after ${half} body bytes`) });
  expect(delivered).toBe(half);
  expect(dest.subarray(0, half).equals(body.subarray(0, half))).toBe(true);
});

it('a connection destroyed mid-body never writes its destination again', () =>
  destroyedNeverWrites((body) => {
    proxy.set({ segmenter: () => 2000 }); // a slow trickle: the body is still coming when it is destroyed
    script = () => ({ bytes: ok(body) });
  }, open));

it("a TLS 1.2 server is read on Node's path, byte-exact, and its origin's next connections open as Node's TLS sockets", async () => {
  const old = await startServer({ maxVersion: 'TLSv1.2' });
  const port = (old.address() as { port: number }).port;
  const body = randomBytes(700_000);
  script = () => ({ bytes: ok(body) });
  for (let i = 0; i < 2; i++) {
    const c = open(port);
    for (let j = 0; j < 2; j++) {
      await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      const dest = Buffer.alloc(body.length);
      expect(await c.readBody(dest)).toBe(body.length);
      expect(dest.equals(body)).toBe(true);
    }
    if (native && i === 0) expect((c.socket as unknown as NativeTlsSocket).path).toBe('node');
    else expect(c.socket).not.toBeInstanceOf(NativeTlsSocket);
    c.destroy();
  }
  old.close();
});

it('through the engine: a connection whose record fails its check is dropped, its range asked for again, the object exact, the pool back', async () => {
  const data = randomBytes((6 << 20) + 7);
  let tampered = 0;
  proxy.set({
    // One record of the whole download is corrupted (the first connection's 40th).
    editor: (r) => (r.type === 23 && tampered++ === 40 ? [{ type: 23, content: r.content, flip: 7 }] : [r]),
  });
  script = (_c, _r, head) => ({ bytes: partial(data, /range: *(\S+)/i.exec(head)?.[1]) });
  const before = defaultPool().stats().inUseBytes;
  const engine = new RangeEngine({ partSize: 1 << 20, retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 } });
  const store = new S3Store({ endpoint: `https://127.0.0.1:${proxy.port}`, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, tls: { ca: cert } });
  const obj = await getObject('s3://b/k', { store, engine, cache: false });
  expect(obj.buffer.equals(data)).toBe(true);
  expect(tampered).toBeGreaterThan(40);
  expect(obj.stats.retries).toBeGreaterThanOrEqual(1);
  expect(obj.stats.tls).toBe(native ? 'native' : 'node');
  release(obj.buffer);
  await until(() => defaultPool().stats().inUseBytes === before, 'the pool back');
});

it("certificates, names, SNI and the connect options stay Node's: a name the certificate holds is read (SNI sent, resolved by the caller's lookup), another is refused", async () => {
  const pems = await generate([{ name: 'commonName', value: 'objects.test' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'objects.test' }] }] });
  let sni: string | false | undefined;
  const named = createServer({ key: pems.private, cert: pems.cert }, (socket: TLSSocket) => {
    sni = (socket as TLSSocket & { servername: string | false }).servername;
    socket.on('error', () => {});
    socket.once('data', () => socket.write(ok(Buffer.from('hello'))));
  });
  await new Promise<void>((r) => named.listen(0, '127.0.0.1', () => r()));
  const port = (named.address() as { port: number }).port;
  // objects.test resolves nowhere but through this lookup (a TLS option Node passes on to its TCP connect).
  const lookup = (_h: string, o: { all?: boolean }, cb: (e: null, a: unknown, f?: number) => void) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
  const good = new Connection({ protocol: 'https:', hostname: 'objects.test', port }, { ca: pems.cert, lookup } as never);
  await good.send('GET / HTTP/1.1\r\nhost: objects.test\r\n\r\n');
  const dest = Buffer.alloc(5);
  expect(await good.readBody(dest)).toBe(5);
  expect(dest.toString()).toBe('hello');
  expect(sni).toBe('objects.test');
  if (native) expect((good.socket as unknown as NativeTlsSocket).path).toBe('native');
  good.destroy();
  // The same certificate reached by IP: the name check fails before any byte of a response.
  const wrong = new Connection({ protocol: 'https:', hostname: '127.0.0.1', port }, { ca: pems.cert });
  const err = await wrong.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n').catch((e: Error) => e);
  expect(err).toBeInstanceOf(ConnectionError);
  expect(((err as ConnectionError).cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  named.close();
});

it('a kept-alive connection the server closes while idle (close_notify, then FIN) is noticed: no longer reusable', async () => {
  proxy.set({});
  const body = randomBytes(1000);
  script = () => ({ bytes: ok(body) });
  const c = open();
  await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  const dest = Buffer.alloc(body.length);
  expect(await c.readBody(dest)).toBe(body.length);
  expect(c.reusable).toBe(true);
  serverSockets.at(-1)!.end(); // Node's TLS sends close_notify, then the FIN
  await until(() => !c.reusable && !c.alive, 'the connection seen closed');
});
