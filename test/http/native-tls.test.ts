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
import { NativeTlsSocket, tlsCounters } from '../../src/http/native-tls.js';
import { binding } from '../../src/native.js';
import { prng } from '../../testing/prng.js';
import { randomExchange } from '../support/http-responses.js';
import { startRecordProxy, type Editor, type OutRecord } from '../support/tls-record-proxy.js';

const CASES = Number(process.env.RANGEPOOL_FUZZ_CASES ?? 60);
const SEED = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const native = process.env.RANGEPOOL_NATIVE_TLS !== '0';

let cert: string;
let key: string;
/** What the server answers on each request, in order, per connection: the bytes, and whether to close after. */
let script: (connection: number, request: number) => { bytes: Buffer; end?: boolean } = () => ({ bytes: Buffer.from('HTTP/1.1 500 x\r\ncontent-length: 0\r\n\r\n') });
let connections = 0;
let server: ReturnType<typeof createServer>;
let proxy: Awaited<ReturnType<typeof startRecordProxy>>;

function startServer(options: object = {}) {
  const s = createServer({ key, cert, ...options }, (socket: TLSSocket) => {
    const connection = connections++;
    let request = 0;
    let pending = '';
    socket.on('error', () => {});
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        const r = script(connection, request++);
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
  for (let i = 0; i < 3; i++) {
    await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const dest = Buffer.alloc(body.length);
    expect(await c.readBody(dest)).toBe(body.length);
    expect(dest.equals(body)).toBe(true);
  }
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
    for (const r of responses) {
      await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      const dest = Buffer.alloc(r.body.length + 10);
      const n = await c.readBody(dest).catch((e: Error) => expect.fail(`${replay}: ${e.message}`));
      expect(dest.subarray(0, n).equals(r.body), replay).toBe(true);
      if (r.keepAlive) expect(c.reusable, replay).toBe(true);
    }
    if (native) expect((c.socket as unknown as NativeTlsSocket).path, replay).toBe('native');
    c.destroy();
  }
});
