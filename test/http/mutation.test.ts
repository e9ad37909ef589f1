// Mutation-based differential fuzzing of the range reader against llhttp (Node's own parser): valid
// exchanges from the generator are mutated (test/support/mutations.ts) and each stream goes to both.
// llhttp says where each response ends; the stream is replayed into a real Connection, each response's
// bytes after its request (the rest of the stream right after, as a pipelining attacker would send it),
// cut by a random splitter. Wherever the reader resolves a response, llhttp must have framed the same
// response with the same status and bytes, and on a reused connection the next response the reader reads
// must be the next one llhttp sees: otherwise the two disagree on where a response ends (splitting).
// A failure prints the seed that replays it:
//   RANGEPOOL_FUZZ_SEED=<seed> RANGEPOOL_MUTATION_CASES=1 npx vitest run test/http/mutation.test.ts
// A long run: RANGEPOOL_MUTATION_CASES=100000 npx vitest run test/http/mutation.test.ts
import { describe, expect, it } from 'vitest';
import { randomExchange } from '../support/http-responses.js';
import { llhttpParse } from '../support/llhttp.js';
import { mutate } from '../support/mutations.js';
import { prng } from '../../testing/prng.js';
import { readScripted, splitters, type Splitter } from '../support/scripted-socket.js';

const CASES = Number(process.env.RANGEPOOL_MUTATION_CASES ?? 2000);
const SEED = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

const SPLITTERS: Array<[string, (random: () => number) => Splitter]> = [
  ['whole', () => splitters.whole()],
  ['one byte', () => splitters.oneByte()],
  ['at CR and LF', () => splitters.atCrLf()],
  ['random', (r) => splitters.random(r, 64)],
];

/** The stream cut where llhttp ends each response; what follows its last one goes with that one. */
function segments(stream: Buffer, ends: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const end of ends) {
    out.push(stream.subarray(from, end));
    from = end;
  }
  if (out.length === 0) return [stream];
  out[out.length - 1] = Buffer.concat([out.at(-1)!, stream.subarray(from)]);
  return out;
}

export async function differential(seed: number): Promise<{ refused: boolean; messages: number }> {
  const random = prng(seed);
  const valid = Buffer.concat(randomExchange(random, 600).map((r) => r.bytes));
  const { bytes, what } = mutate(random, valid);
  const ref = llhttpParse(bytes, true);
  const [name, makeSplitter] = SPLITTERS[Math.floor(random() * SPLITTERS.length)]!;
  // One request more than llhttp saw responses: a reader that reuses the connection asks for it.
  const script = [...segments(bytes, ref.ends), Buffer.alloc(0)];
  // Every other seed reads each body into a random landing ring (download()'s path to a file), from a source of
  // its own so that a seed's stream and cuts stay what they were.
  const ring = seed % 2 === 1 ? prng(seed ^ 0x5bd1e995) : undefined;
  const ours = await readScripted(script, makeSplitter(random), { endAfter: true, eager: true, room: 64 * 1024, ...(ring ? { ring } : {}) });
  const replay = `seed ${seed}, ${name}${ring ? ', into a ring' : ''}: ${what.join('; ')}; llhttp ${ref.messages.length} response(s)${ref.error ? `, then ${ref.error}` : ''}; stream ${JSON.stringify(bytes.toString('latin1').slice(0, 600))}\n  replay: RANGEPOOL_FUZZ_SEED=${seed} RANGEPOOL_MUTATION_CASES=1 npx vitest run test/http/mutation.test.ts`;
  for (const [k, got] of ours.exchanges.entries()) {
    const theirs = ref.messages[k];
    expect(theirs, `the reader read response ${k + 1}, llhttp framed no such response (${replay})`).toBeDefined();
    expect(got.status, replay).toBe(theirs!.status);
    expect(got.body.toString('latin1'), `response ${k + 1}'s bytes differ (${replay})`).toBe(theirs!.body.toString('latin1'));
    if (k > 0) expect(ref.messages[k - 1]!.keepAlive, `the reader reused a connection llhttp would close (${replay})`).toBe(true);
  }
  return { refused: ours.error !== undefined && ours.exchanges.length < ref.messages.length, messages: ours.exchanges.length };
}

describe('mutated responses, the reader against llhttp', () => {
  it(`${CASES} mutated streams: wherever the reader resolves, llhttp framed the same response (seed ${SEED})`, { timeout: 60_000 + CASES * 50 }, async () => {
    let read = 0;
    for (let i = 0; i < CASES; i++) read += (await differential((SEED + i * 7919) >>> 0)).messages;
    // The mutations leave most streams readable: the comparison had something to compare.
    if (CASES >= 100) expect(read).toBeGreaterThan(CASES / 2);
  });

  // llhttp reads `chunked<HTAB>` as a body to the close on every Node version; `5<HTAB>` it refuses on
  // Node 20 and reads as 5 on 22+: the reader refuses both, whatever the version.
  it.each([
    ['chunked<HTAB>', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/5\r\nTransfer-Encoding: chunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\n', true],
    ['chunked<SP><HTAB>', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/5\r\nTransfer-Encoding: chunked \t\r\n\r\n5\r\nhello\r\n0\r\n\r\n', true],
    ['Content-Length 5<HTAB>', 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/5\r\nContent-Length: 5\t\r\n\r\nhello', false],
  ])('%s, and a second response after it: the reader never reads a response llhttp does not see', async (_what, first, llhttpSplits) => {
    const second = 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/5\r\nContent-Length: 5\r\n\r\nEVIL!';
    for (const stream of [first, first + second]) {
      const bytes = Buffer.from(stream, 'latin1');
      const ref = llhttpParse(bytes, true);
      for (const [, makeSplitter] of SPLITTERS) {
        const ours = await readScripted([bytes, Buffer.alloc(0)], makeSplitter(prng(1)), { endAfter: true, eager: true });
        // llhttp reads no `hello` response here (a close-delimited body, or an error): the reader refuses it.
        expect(ours.exchanges.map((e) => e.body.toString('latin1'))).toEqual([]);
        expect(ours.error).toBeDefined();
        if (llhttpSplits) expect(ref.messages.every((m) => m.body.toString('latin1') !== 'hello')).toBe(true);
      }
    }
  });
});
