// Segmentation fuzzing of the range reader: random well-formed responses of every framing, replayed into
// a real Connection under many cuts of the byte stream (one byte per read, a cut at every CR and LF,
// random sizes, all at once). Each must give exactly its body and leave the connection reusable exactly
// when it should be. A failure prints the seed that replays it:
//   RANGEPOOL_FUZZ_SEED=<seed> npx vitest run test/http/segmentation.test.ts
// A longer run: RANGEPOOL_FUZZ_CASES=20000 npx vitest run test/http/segmentation.test.ts
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../src/http/connection.js';
import { randomExchange } from '../support/http-responses.js';
import { prng } from '../../testing/prng.js';
import { readScripted, splitters, type Splitter } from '../support/scripted-socket.js';

const CASES = Number(process.env.RANGEPOOL_FUZZ_CASES ?? 300);
const SEED = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TIMEOUT = 60_000 + CASES * 200;

/** CASES random exchanges, each from a seed of its own (the one printed on failure). */
async function eachCase(maxBody: number, check: (c: { seed: number; random: () => number; responses: ReturnType<typeof randomExchange>; last: ReturnType<typeof randomExchange>[number] }) => Promise<void>): Promise<void> {
  for (let i = 0; i < CASES; i++) {
    const seed = (SEED + i * 7919) >>> 0;
    const random = prng(seed);
    const responses = randomExchange(random, maxBody);
    await check({ seed, random, responses, last: responses.at(-1)! });
  }
}

/** Each splitter, made fresh per case from the case's own seed. */
const STRATEGIES: Array<[string, (random: () => number) => Splitter, number]> = [
  ['one byte per read', () => splitters.oneByte(), 600],
  ['a cut at every CR and LF', () => splitters.atCrLf(), 4000],
  ['random reads of 1-64 bytes', (r) => splitters.random(r, 64), 20_000],
  ['random reads, tiny and large', (r) => splitters.mixed(r), 90_000],
  ['everything in one read', () => splitters.whole(), 90_000],
];

describe.each(STRATEGIES)('every framing, %s', (name, makeSplitter, maxBody) => {
  it(`${CASES} random exchanges give exact bodies (seed ${SEED})`, { timeout: TIMEOUT }, async () => {
    await eachCase(maxBody, async ({ seed, random, responses, last }) => {
      const result = await readScripted(
        responses.map((r) => r.bytes),
        makeSplitter(random),
        { endAfter: last.closeDelimited || random() < 0.2 },
      );
      const replay = `case seed ${seed} (${name}: ${responses.map((r) => r.what).join(' | ')}); replay with RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_FUZZ_CASES=1`;
      expect(result.error, replay).toBeUndefined();
      expect(result.exchanges.length, replay).toBe(responses.length);
      for (const [k, r] of responses.entries()) {
        const got = result.exchanges[k]!.body;
        if (!got.equals(r.body)) {
          const at = got.findIndex((b, j) => b !== r.body[j]);
          expect.fail(`${replay}: response ${k} body differs at byte ${at < 0 ? Math.min(got.length, r.body.length) : at} (${got.length} bytes, expected ${r.body.length})`);
        }
      }
      if (!last.closeDelimited) expect(result.reusable, replay).toBe(last.keepAlive);
    });
  });
});

// Under a bandwidth cap (engine/rate-limit.ts): reads cut to the cap's maxRead (1 byte to 4 KiB), and now and
// then a wait with reading stopped (the socket paused, then resumed by a timer), wherever it falls.
describe.each(STRATEGIES.slice(0, 3))('every framing under a bandwidth cap, %s', (name, makeSplitter, maxBody) => {
  it(`${CASES} random exchanges give exact bodies (seed ${SEED})`, { timeout: TIMEOUT }, async () => {
    await eachCase(maxBody, async ({ seed, random, responses, last }) => {
      const limit = { maxRead: 1 + Math.floor(random() * 4096), take: () => (random() < 0.02 ? 1 + Math.floor(random() * 2) : 0) };
      const result = await readScripted(
        responses.map((r) => r.bytes),
        makeSplitter(random),
        { endAfter: last.closeDelimited || random() < 0.2, limit },
      );
      const replay = `case seed ${seed} (${name}, capped: ${responses.map((r) => r.what).join(' | ')}); replay with RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_FUZZ_CASES=1`;
      expect(result.error, replay).toBeUndefined();
      expect(result.exchanges.map((e) => e.body.toString('latin1')), replay).toEqual(responses.map((r) => r.body.toString('latin1')));
      if (!last.closeDelimited) expect(result.reusable, replay).toBe(last.keepAlive);
    });
  });
});

// Into a landing ring (download() to a file, engine/ring.ts): blocks of 1-64 bytes, one to three of them,
// each free again a few turns after it filled; reading stops whenever the ring is full and starts again when
// a block is free, wherever in a head, chunk line or body that falls. With the cap's pauses too, now and then.
describe.each(STRATEGIES.slice(0, 4))('every framing into a landing ring, %s', (name, makeSplitter, maxBody) => {
  it(`${CASES} random exchanges give exact bodies (seed ${SEED})`, { timeout: TIMEOUT }, async () => {
    await eachCase(maxBody, async ({ seed, random, responses, last }) => {
      const limit = random() < 0.3 ? { maxRead: 1 + Math.floor(random() * 4096), take: () => (random() < 0.02 ? 1 : 0) } : undefined;
      const late = random() < 0.2;
      const endAfter = last.closeDelimited || random() < 0.2;
      const result = await readScripted(
        responses.map((r) => r.bytes),
        makeSplitter(random),
        { endAfter, late, limit, ring: random },
      );
      const replay = `case seed ${seed} (${name}, into a ring: ${responses.map((r) => r.what).join(' | ')}); replay with RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_FUZZ_CASES=1`;
      expect(result.error, replay).toBeUndefined();
      expect(result.exchanges.map((e) => e.body.toString('latin1')), replay).toEqual(responses.map((r) => r.body.toString('latin1')));
      // (A server that closes may be heard before a body waiting for room ends: reuse is then not asked.)
      if (!last.closeDelimited && !endAfter) expect(result.reusable, replay).toBe(last.keepAlive);
    });
  });
});

// The body asked for only after the server sent all of it (and, a fifth of the time or when it is
// close-delimited, closed): the head was answered, then everything waits in the reader until readBody().
describe.each(STRATEGIES.slice(0, 3))('every framing, the last body read late, %s', (name, makeSplitter, maxBody) => {
  it(`${CASES} random exchanges give exact bodies (seed ${SEED})`, { timeout: TIMEOUT }, async () => {
    await eachCase(maxBody, async ({ seed, random, responses, last }) => {
      const endAfter = last.closeDelimited || random() < 0.2;
      const result = await readScripted(
        responses.map((r) => r.bytes),
        makeSplitter(random),
        { endAfter, late: true },
      );
      const replay = `case seed ${seed} (${name}, read late: ${responses.map((r) => r.what).join(' | ')}); replay with RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_FUZZ_CASES=1`;
      expect(result.error, replay).toBeUndefined();
      expect(result.exchanges.map((e) => e.body.toString('latin1')), replay).toEqual(responses.map((r) => r.body.toString('latin1')));
      // A connection the server closed while the body waited is never reused.
      if (!last.closeDelimited) expect(result.reusable, replay).toBe(last.keepAlive && !endAfter);
    });
  });
});

describe('a connection that closes while a body waits for its destination', () => {
  it.each([
    ['content-length', 'content-length: 100'],
    ['chunked', 'transfer-encoding: chunked'],
  ])('%s cut short: the bytes that came are delivered, then the failure (a retry resumes after them)', async (_what, framing) => {
    const body = framing.startsWith('content') ? 'x'.repeat(60) : `64\r\n${'x'.repeat(60)}`;
    const bytes = Buffer.from(`HTTP/1.1 206 Partial Content\r\n${framing}\r\n\r\n${body}`, 'latin1');
    for (const split of [splitters.whole(), splitters.oneByte(), splitters.atCrLf()]) {
      const result = await readScripted([bytes], split, { endAfter: true, late: true });
      expect(result.error).toBeInstanceOf(ConnectionError);
      expect((result.error as ConnectionError).kind).toBe('closed');
      expect(result.delivered).toBe(60);
    }
  });
});

describe('the cuts that broke it', () => {
  // A chunk line whose CR ends one read and whose LF starts the next, after an earlier response left a
  // LF just past the end of what arrived: the reader took the stale LF, wrote the real one into the data
  // and lost a byte, and every length check still passed.
  it.each([
    ['chunk-size', 'a\r', '\nABCDEFGHIJ\r\n0\r\n\r\n'],
    ['chunk-end', 'a\r\nABCDEFGHIJ\r', '\n0\r\n\r\n'],
    ['last chunk', 'a\r\nABCDEFGHIJ\r\n0\r', '\n\r\n'],
    ['trailer', 'a\r\nABCDEFGHIJ\r\n0\r\nx-t: 1\r', '\n\r\n'],
    ['final CRLF', 'a\r\nABCDEFGHIJ\r\n0\r\n\r', '\n'],
  ])('the %s line split between CR and LF', async (_what, first, second) => {
    const head = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n';
    // A first response leaves LFs in scratch past where the second one's bytes end.
    const filler = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n${'\n'.repeat(40)}`, 'latin1');
    const bytes = Buffer.from(head + first + second, 'latin1');
    // The filler's last byte comes alone, so the next read lands at the start of scratch again.
    const cuts = [filler.length - 1, 1, head.length + first.length, second.length];
    let k = 0;
    const result = await readScripted([filler, bytes], () => cuts[k++] ?? 1);
    expect(result.error).toBeUndefined();
    expect(result.exchanges[1]!.body.toString()).toBe('ABCDEFGHIJ');
    expect(result.reusable).toBe(true);
  });

  it.each([
    ['a bare CR in a chunk-size line', 'a\rx\r\nABCDEFGHIJ\r\n0\r\n\r\n'],
    ['a bare LF ending a chunk-size line', 'a\nABCDEFGHIJ\r\n0\r\n\r\n'],
    ['chunk data followed by LF alone', 'a\r\nABCDEFGHIJ\n0\r\n\r\n'],
    ['a control byte in a chunk extension', 'a;x=\x01\r\nABCDEFGHIJ\r\n0\r\n\r\n'],
    ['a trailer that is not a header line', 'a\r\nABCDEFGHIJ\r\n0\r\nnot a header\r\n\r\n'],
  ])('%s is a protocol error under every cut', async (_what, body) => {
    const bytes = Buffer.from(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${body}`, 'latin1');
    for (const split of [splitters.whole(), splitters.oneByte(), splitters.atCrLf()]) {
      const result = await readScripted([bytes], split);
      expect(result.error).toBeInstanceOf(ConnectionError);
      expect((result.error as ConnectionError).kind).toBe('protocol');
    }
  });
});
