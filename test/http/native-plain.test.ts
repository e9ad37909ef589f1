// Plain HTTP read in native code (src/http/native-plain.ts: the addon's I/O threads read the socket straight
// into the reader's destinations) against a raw TCP server that writes its responses in pieces, each its own
// TCP segment (one byte per write, a cut at every CR and LF, random sizes): every framing, reuse, a reset mid-body, a connection destroyed mid-body, an idle connection the server closes.
// They run on Node's reads in the main project and on the addon's in the native-http project
// (RANGEPOOL_NATIVE_HTTP=1, the opt-in). A failure prints
// the seed that replays it: RANGEPOOL_FUZZ_SEED=<seed> RANGEPOOL_FUZZ_CASES=1 npx vitest run test/http/native-plain.test.ts
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/http/connection.js';
import { tlsCounters } from '../../src/http/native-reads.js';
import { NativePlainSocket } from '../../src/http/native-plain.js';
import { binding } from '../../src/native.js';
import { prng } from '../../testing/prng.js';
import { destroyedNeverWrites, readsExact, readsExchange } from '../support/native-reader.js';
import { randomExchange } from '../support/http-responses.js';
import { splitters, type Splitter } from '../support/scripted-socket.js';
import { until } from '../support/wait.js';

const CASES = Number(process.env.RANGEPOOL_FUZZ_CASES ?? 60);
const SEED = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const native = process.env.RANGEPOOL_NATIVE_HTTP === '1';

/** What the server answers on each request of a connection, in order: the bytes, and whether to close after. */
let script: (request: number) => { bytes: Buffer; end?: boolean; reset?: number } = () => ({ bytes: Buffer.from('HTTP/1.1 500 x\r\ncontent-length: 0\r\n\r\n') });
/** How the server cuts what it writes: the size of the next piece (each written in its own turn). */
let pieces: Splitter = splitters.whole();
/** Milliseconds between pieces (0: the next turn). */
let gapMs = 0;
const serverSockets: Socket[] = [];
let server: Server;
let port: number;

/** Writes `bytes` in pieces, each in a turn of its own so that they leave as separate TCP segments. */
async function writeCut(socket: Socket, bytes: Buffer, stopAt = Infinity): Promise<void> {
  for (let at = 0; at < Math.min(bytes.length, stopAt) && !socket.destroyed; ) {
    const n = Math.max(1, Math.min(pieces(bytes.subarray(at)), Math.min(bytes.length, stopAt) - at));
    socket.write(bytes.subarray(at, at + n));
    at += n;
    await new Promise((r) => (gapMs ? setTimeout(r, gapMs) : setImmediate(r)));
  }
}

beforeAll(async () => {
  server = createServer((socket) => {
    serverSockets.push(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let request = 0;
    let pending = '';
    let queue = Promise.resolve();
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        const r = script(request++);
        queue = queue.then(async () => {
          await writeCut(socket, r.bytes, r.reset);
          if (r.reset !== undefined) socket.resetAndDestroy();
          else if (r.end) socket.end();
        });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

const open = () => new Connection({ protocol: 'http:', hostname: '127.0.0.1', port });
const ok = (body: Buffer) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body]);

it(`takes the path RANGEPOOL_NATIVE_HTTP asks for (${native ? 'native' : "Node's"}), byte-exact, with few JavaScript calls per body`, async () => {
  expect(binding?.plainReaderAvailable).toBe(true); // Linux with the addon: the native path must be there to test
  pieces = () => 256 * 1024;
  const body = randomBytes(8 << 20);
  script = () => ({ bytes: ok(body) });
  const c = open();
  const events = tlsCounters.events;
  await readsExact(c, body, 3);
  if (native) {
    expect(c.socket).toBeInstanceOf(NativePlainSocket);
    // A head and then 1 MiB pieces: 3 × (1 + 8), give or take a piece cut by a quiet socket.
    expect(tlsCounters.events - events).toBeLessThanOrEqual(3 * 12);
  } else expect(c.socket).not.toBeInstanceOf(NativePlainSocket);
  c.destroy();
});

/** How the server cuts its writes (each piece its own TCP segment), and the largest body for each (one byte per write is slow). */
const STRATEGIES: Array<[string, (random: () => number) => Splitter, number]> = [
  ['one byte per write', () => splitters.oneByte(), 600],
  ['a cut at every CR and LF', () => splitters.atCrLf(), 4000],
  ['random writes of 1-7 bytes', (r) => splitters.random(r, 7), 20_000],
  ['random writes, tiny and large', (r) => splitters.mixed(r), 90_000],
  ['random writes up to 70 KB', (r) => splitters.random(r, 70_000), 200_000],
];

describe.each(STRATEGIES)('every framing, %s', (_name, makeSplitter, maxBody) => {
  it(`${CASES} random exchanges give exact bodies (seed ${SEED})`, { timeout: 120_000 }, async () => {
    for (let i = 0; i < CASES; i++) {
      const seed = (SEED + i * 7919) >>> 0;
      const random = prng(seed);
      const responses = randomExchange(random, maxBody);
      pieces = makeSplitter(random);
      script = (r) => ({ bytes: responses[r]!.bytes, end: !responses[r]!.keepAlive });
      const replay = `case seed ${seed} (${responses.map((r) => r.what).join(' | ')}); replay with RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_FUZZ_CASES=1`;
      const c = open();
      await readsExchange(c, responses, replay);
      if (native) expect(c.socket, replay).toBeInstanceOf(NativePlainSocket);
      c.destroy();
    }
  });
});

it('a connection reset mid-body: the bytes before it are delivered, then the body fails as the socket did (ECONNRESET)', async () => {
  pieces = () => 4096;
  const body = randomBytes(1 << 20);
  const bytes = ok(body);
  const head = bytes.length - body.length;
  script = () => ({ bytes, reset: head + 300_000 });
  const c = open();
  await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  const dest = Buffer.alloc(body.length);
  let delivered = 0;
  const err = await c.readBody(dest, { onData: (n) => (delivered += n) }).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect(String((err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message)).toMatch(/ECONNRESET/);
  expect(delivered).toBeLessThanOrEqual(300_000);
  expect(dest.subarray(0, delivered).equals(body.subarray(0, delivered))).toBe(true);
});

it('a connection destroyed mid-body never writes its destination again', () =>
  destroyedNeverWrites((body) => {
    pieces = () => 2000; // a trickle: the body is still coming when it is destroyed
    gapMs = 1;
    script = () => ({ bytes: ok(body) });
  }, open).finally(() => (gapMs = 0)));

it('a kept-alive connection the server closes while idle is seen closed: no longer reusable', async () => {
  pieces = splitters.whole();
  script = () => ({ bytes: ok(Buffer.from('hello')) });
  const c = open();
  await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  expect(await c.readBody(Buffer.alloc(5))).toBe(5);
  expect(c.reusable).toBe(true);
  serverSockets.at(-1)!.end();
  await until(() => !c.reusable, 'the idle connection seen closed');
  expect(c.alive).toBe(false);
});
