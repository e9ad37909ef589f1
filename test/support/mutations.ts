// Mutations of valid response streams, for the differential fuzz against llhttp: the generator in
// http-responses.ts makes only valid framings, which is how a framing the reader read differently from
// llhttp (`chunked<HTAB>`) survived it. Each mutation is one an attacker or a broken server could send:
// bytes inserted, deleted, duplicated or case-flipped where framing is read, framing headers added,
// duplicated or conflicting, obs-fold, lengths off by one, a response appended, the stream cut short.
import { randomResponse } from './http-responses.js';

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (random: () => number, max: number) => Math.floor(random() * (max + 1));

/** Bytes that mean something to a framing parser, and a few that must mean nothing. */
const ALPHABET = Buffer.from('\r\n\t \x00\x0b\x0c\x7f\x80\xa0\xff:;,"=0159aAfF-+xX', 'latin1');

const FRAMING_LINES = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked\t',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: chunked ',
  'Transfer-Encoding: \tchunked\t ',
  'Transfer-Encoding: chunked, chunked',
  'Transfer-Encoding: identity',
  'Transfer-Encoding: gzip',
  'Transfer-Encoding: chunked\x0b',
  'Transfer-Encoding : chunked',
  'Content-Length: 0',
  'Content-Length: 1',
  'Content-Length: 5',
  'Content-Length: 5\t',
  'Content-Length:\t5',
  'Content-Length: 5 ',
  'Content-Length: 05',
  'Connection: close',
  'Connection: close\t',
  'Connection: keep-alive',
  'Connection: keep-alive, close',
  'Connection:\tclose',
  'Proxy-Connection: close',
  'Upgrade: h2c',
];

interface Regions {
  /** [start, end) of every response head in the stream. */
  heads: Array<[number, number]>;
}

function regions(stream: Buffer): Regions {
  const heads: Array<[number, number]> = [];
  const text = stream.toString('latin1');
  for (let at = text.indexOf('HTTP/'); at >= 0; at = text.indexOf('HTTP/', at + 1)) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end > at) heads.push([at, end + 4]);
  }
  return { heads };
}

/** A position where a mutation is likely to touch framing: in a head, or beside a CR or LF. */
function position(random: () => number, stream: Buffer, r: Regions): number {
  const roll = random();
  if (roll < 0.5 && r.heads.length > 0) {
    const [a, b] = pick(random, r.heads);
    return a + int(random, b - a);
  }
  if (roll < 0.85) {
    const near: number[] = [];
    for (let i = 0; i < stream.length && near.length < 4096; i++) if (stream[i] === 0x0d || stream[i] === 0x0a) near.push(i);
    if (near.length > 0) return Math.min(stream.length, pick(random, near) + int(random, 2) - 1 + (random() < 0.5 ? 0 : 1));
  }
  return int(random, stream.length);
}

const at = (s: Buffer, i: number, insert: Buffer | string, remove = 0) =>
  Buffer.concat([s.subarray(0, i), typeof insert === 'string' ? Buffer.from(insert, 'latin1') : insert, s.subarray(i + remove)]);

type Mutation = (random: () => number, s: Buffer, r: Regions) => [Buffer, string];

const MUTATIONS: Mutation[] = [
  (random, s, r) => {
    const i = position(random, s, r);
    const b = random() < 0.8 ? ALPHABET[int(random, ALPHABET.length - 1)]! : int(random, 255);
    return [at(s, i, Buffer.of(b)), `insert 0x${b.toString(16)} at ${i}`];
  },
  (random, s, r) => {
    const i = Math.min(position(random, s, r), s.length - 1);
    return [at(s, i, '', 1), `delete byte ${i}`];
  },
  (random, s, r) => {
    const i = Math.min(position(random, s, r), s.length - 1);
    const b = ALPHABET[int(random, ALPHABET.length - 1)]!;
    return [at(s, i, Buffer.of(b), 1), `replace byte ${i} with 0x${b.toString(16)}`];
  },
  (random, s, r) => {
    const i = position(random, s, r);
    const n = 1 + int(random, 40);
    return [at(s, Math.min(s.length, i + n), s.subarray(i, i + n)), `duplicate ${n} bytes at ${i}`];
  },
  (random, s, r) => {
    if (r.heads.length === 0) return [s, 'no head'];
    const [a, b] = pick(random, r.heads);
    const out = Buffer.from(s);
    for (let i = a; i < b; i++) if (random() < 0.3 && /[a-z]/i.test(String.fromCharCode(out[i]!))) out[i]! ^= 0x20;
    return [out, `flip case in the head at ${a}`];
  },
  (random, s, r) => {
    // a header line duplicated, or one of the framing lines added, right after a status line
    if (r.heads.length === 0) return [s, 'no head'];
    const [a, b] = pick(random, r.heads);
    const text = s.subarray(a, b).toString('latin1');
    const lines = text.split('\r\n').slice(1, -2);
    const line = random() < 0.3 && lines.length > 0 ? pick(random, lines) : pick(random, FRAMING_LINES);
    const eol = a + text.indexOf('\r\n') + 2;
    const where = random() < 0.5 ? eol : b - 2;
    return [at(s, where, `${line}\r\n`), `add header ${JSON.stringify(line)} at ${where}`];
  },
  (random, s, r) => {
    // obs-fold: a value continued on the next line
    if (r.heads.length === 0) return [s, 'no head'];
    const [a, b] = pick(random, r.heads);
    const colon = s.indexOf(':', a);
    if (colon < 0 || colon >= b) return [s, 'no header'];
    const fold = pick(random, ['\r\n ', '\r\n\t', ' \r\n  ']);
    return [at(s, colon + 1, fold), `obs-fold after the colon at ${colon}`];
  },
  (random, s) => {
    // a length or chunk size off by one
    const text = s.toString('latin1');
    const found: Array<[number, string, number]> = [];
    for (const m of text.matchAll(/content-length:[ \t]*(\d+)/gi)) found.push([m.index! + m[0].length - m[1]!.length, m[1]!, 10]);
    for (const m of text.matchAll(/\r\n([0-9a-fA-F]+)(?=[;\r \t])/g)) found.push([m.index! + 2, m[1]!, 16]);
    if (found.length === 0) return [s, 'no number'];
    const [i, digits, radix] = pick(random, found);
    const v = Math.max(0, parseInt(digits, radix) + (random() < 0.5 ? -1 : 1));
    return [at(s, i, v.toString(radix), digits.length), `number at ${i} ${digits} -> ${v.toString(radix)}`];
  },
  (random, s) => {
    const extra = randomResponse(random, { maxBody: 200, last: true });
    return [Buffer.concat([s, extra.bytes]), `append ${extra.what}`];
  },
  (random, s) => {
    const i = int(random, s.length);
    return [s.subarray(0, i), `cut at ${i}`];
  },
];

/** 1 to 3 random mutations of `stream`, and what they were (for the failure message). */
export function mutate(random: () => number, stream: Buffer): { bytes: Buffer; what: string[] } {
  let bytes = stream;
  const what: string[] = [];
  const n = 1 + (random() < 0.6 ? 0 : int(random, 2));
  for (let k = 0; k < n; k++) {
    const [next, w] = pick(random, MUTATIONS)(random, bytes, regions(bytes));
    bytes = next;
    what.push(w);
  }
  return { bytes, what };
}
