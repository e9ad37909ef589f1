// Differential test of the range reader against llhttp, Node's own HTTP parser (through node:http): the
// same hostile responses go to both. Wherever llhttp refuses a framing the reader must refuse it too,
// unless the case names why accepting it is safe; wherever both accept, they must agree on the status
// and every body byte. The reader may be stricter than llhttp (it only ever talks to object stores).
import { request } from 'node:http';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readScripted, splitters } from '../support/scripted-socket.js';

type Outcome = { ok: true; status: number; body: string } | { ok: false; error: string };

/** What node:http makes of the bytes, fed through a stand-in socket. */
function llhttp(bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new Duplex({
      read() {},
      write(_chunk, _enc, cb) {
        cb();
      },
    });
    let settled = false;
    const settle = (o: Outcome) => {
      if (!settled) resolve(o);
      settled = true;
    };
    const req = request({ createConnection: () => socket as never, path: '/', headers: { host: 'x' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.complete ? settle({ ok: true, status: res.statusCode!, body: Buffer.concat(chunks).toString('latin1') }) : settle({ ok: false, error: 'incomplete' })));
      res.on('error', (e) => settle({ ok: false, error: e.message }));
      res.on('aborted', () => settle({ ok: false, error: 'aborted' }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => settle({ ok: false, error: e.code ?? e.message }));
    req.on('upgrade', () => settle({ ok: false, error: 'upgrade' }));
    req.on('close', () => setImmediate(() => settle({ ok: false, error: 'closed' })));
    req.end();
    setImmediate(() => {
      socket.push(bytes);
      socket.push(null);
    });
  });
}

/** What the range reader makes of them, whole and one byte per read (the two must agree). */
async function reader(bytes: Buffer): Promise<Outcome> {
  const outcomes: Outcome[] = [];
  const whole = splitters.whole();
  for (const split of [whole, splitters.oneByte()]) {
    const r = await readScripted([bytes], split, { endAfter: true });
    outcomes.push(r.error ? { ok: false, error: (r.error as Error).message } : { ok: true, status: r.exchanges[0]!.status, body: r.exchanges[0]!.body.toString('latin1') });
    // Bytes that arrived with a bodiless response: the connection is not reused.
    if (split === whole && r.exchanges[0] && [204, 304].includes(r.exchanges[0].status)) expect(r.reusable).toBe(false);
  }
  expect(outcomes[1]!.ok).toBe(outcomes[0]!.ok);
  if (outcomes[0]!.ok) expect(outcomes[1]).toEqual(outcomes[0]);
  return outcomes[0]!;
}

const res = (head: string, body = '') => `HTTP/1.1 200 OK\r\n${head}\r\n${body}`;
const chunkedRes = (body: string, te = 'chunked') => res(`Transfer-Encoding: ${te}\r\n`, body);

const NO_BODY = 'a 204 or 304 has no body whatever its headers say (RFC 9110 15.3.5, 15.4.5): both read none, and the bytes after it are what llhttp refuses; the reader never reuses a connection with unread bytes';

/** [what, the bytes, why accepting is safe where llhttp refuses (if it does)] */
const CASES: Array<[string, string, string?]> = [
  ['a plain Content-Length body', res('Content-Length: 5\r\n', 'hello')],
  ['a plain chunked body', chunkedRes('5\r\nhello\r\n0\r\n\r\n')],
  ['duplicate identical Content-Length', res('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello')],
  ['conflicting Content-Lengths', res('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!')],
  ['a Content-Length list', res('Content-Length: 5, 5\r\n', 'hello')],
  ['Content-Length and Transfer-Encoding', res('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
  ['Transfer-Encoding and Content-Length', res('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '5\r\nhello\r\n0\r\n\r\n')],
  ['Content-Length with a leading +', res('Content-Length: +5\r\n', 'hello')],
  ['Content-Length with leading zeros', res('Content-Length: 005\r\n', 'hello')],
  ['a negative Content-Length', res('Content-Length: -1\r\n', 'hello')],
  ['an empty Content-Length', res('Content-Length:\r\n', 'hello')],
  ['Content-Length past 2^53', res('Content-Length: 99999999999999999999\r\n', 'hello')],
  ['Content-Length in hex', res('Content-Length: 0x5\r\n', 'hello')],
  ['Content-Length wrapped in VT', res('Content-Length: \x0b5\x0b\r\n', 'hello')],
  ['Content-Length wrapped in FF', res('Content-Length: \x0c5\r\n', 'hello')],
  ['Content-Length followed by NBSP', res('Content-Length: 5\xa0\r\n', 'hello')],
  ['Content-Length with SP and HTAB before it, SP after', res('Content-Length: \t 5 \r\n', 'hello')],
  ['Content-Length followed by HTAB', res('Content-Length: 5\t\r\n', 'hello')],
  ['Transfer-Encoding: chunked followed by HTAB', chunkedRes('5\r\nhello\r\n0\r\n\r\n', 'chunked\t')],
  ['Transfer-Encoding: chunked followed by SP', chunkedRes('5\r\nhello\r\n0\r\n\r\n', 'chunked ')],
  ['a Connection: close trailer', chunkedRes('5\r\nhello\r\n0\r\nConnection: close\r\n\r\n')],
  ['Proxy-Connection: close', res('Proxy-Connection: close\r\nContent-Length: 5\r\n', 'hello')],
  ['a 103 that says Connection: close, then the response', `HTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\n${res('Content-Length: 5\r\n', 'hello')}`],
  ['a chunk size followed by a space', chunkedRes('5 \r\nhello\r\n0\r\n\r\n')],
  ['an empty chunk extension', chunkedRes('5;\r\nhello\r\n0\r\n\r\n')],
  ['a chunk extension with spaces', chunkedRes('5; a=1\r\nhello\r\n0\r\n\r\n')],
  ['Transfer-Encoding: chunked followed by NBSP', chunkedRes('5\r\nhello\r\n0\r\n\r\n', 'chunked\xa0')],
  ['Transfer-Encoding: gzip, chunked', chunkedRes('5\r\nhello\r\n0\r\n\r\n', 'gzip, chunked')],
  ['Transfer-Encoding: chunked, gzip', chunkedRes('5\r\nhello\r\n0\r\n\r\n', 'chunked, gzip')],
  ['Transfer-Encoding: chunked twice', res('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
  ['Transfer-Encoding: xchunked', chunkedRes('5\r\nhello\r\n0\r\n\r\n', 'xchunked')],
  ['Transfer-Encoding: identity', chunkedRes('hello', 'identity')],
  ['Transfer-Encoding folded onto the next line', res('Transfer-Encoding:\r\n chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
  ['an obs-folded header', res('X-A: b\r\n c\r\nContent-Length: 5\r\n', 'hello')],
  ['a space before the colon', res('Content-Length : 5\r\n', 'hello')],
  ['a bad character in a header name', res('Content@Length: 5\r\n', 'hello')],
  ['a header line without a colon', res('nocolon\r\nContent-Length: 5\r\n', 'hello')],
  ['an empty header name', res(': x\r\nContent-Length: 5\r\n', 'hello')],
  ['LF line endings', 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello'],
  ['a bare CR inside a value', res('X-A: b\rc\r\nContent-Length: 5\r\n', 'hello')],
  ['a line ending in CR CR LF', res('Content-Length: 5\r\r\n', 'hello')],
  ['a NUL in a value', res('X-A: b\x00c\r\nContent-Length: 5\r\n', 'hello')],
  ['a control byte in a value', res('X-A: b\x01c\r\nContent-Length: 5\r\n', 'hello')],
  ['DEL in a value', res('X-A: b\x7fc\r\nContent-Length: 5\r\n', 'hello')],
  ['a status line without a reason', 'HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello'],
  ['two spaces after the version', 'HTTP/1.1  200 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['HTTP/1.2', 'HTTP/1.2 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['HTTP/2 in a status line', 'HTTP/2 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['a lower-case version', 'http/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['a four-digit status', 'HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['a leading blank line', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
  ['100 Continue, then the response', `HTTP/1.1 100 Continue\r\n\r\n${res('Content-Length: 5\r\n', 'hello')}`],
  ['103 Early Hints with headers, then the response', `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${res('Content-Length: 5\r\n', 'hello')}`],
  ['an unasked 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nhello'],
  ['204 with a Content-Length body', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello', NO_BODY],
  ['304 with a chunked body', 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', NO_BODY],
  ['a close-delimited body', 'HTTP/1.1 200 OK\r\n\r\nhello'],
  ['a close-delimited HTTP/1.0 body', 'HTTP/1.0 200 OK\r\n\r\nhello'],
  ['chunked on HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['a Content-Length body cut short', res('Content-Length: 10\r\n', 'hello')],
  ['a chunked body cut short', chunkedRes('a\r\nhello')],
  ['a chunked body without its last chunk', chunkedRes('5\r\nhello\r\n')],
  ['a chunk size past 2^64', chunkedRes('fffffffffffffffffff\r\nhello\r\n0\r\n\r\n')],
  ['a chunk size with a leading space', chunkedRes(' 5\r\nhello\r\n0\r\n\r\n')],
  ['a chunk size with a leading +', chunkedRes('+5\r\nhello\r\n0\r\n\r\n')],
  ['a chunk size with 0x', chunkedRes('0x5\r\nhello\r\n0\r\n\r\n')],
  ['a negative chunk size', chunkedRes('-5\r\nhello\r\n0\r\n\r\n')],
  ['an empty chunk-size line', chunkedRes('\r\nhello\r\n0\r\n\r\n')],
  ['chunk extensions', chunkedRes('5;a=1;b="x;y"\r\nhello\r\n0;z\r\n\r\n')],
  ['a NUL in a chunk extension', chunkedRes('5;a=\x00\r\nhello\r\n0\r\n\r\n')],
  ['a bare CR in a chunk-size line', chunkedRes('5\rx\r\nhello\r\n0\r\n\r\n')],
  ['a LF-terminated chunk-size line', chunkedRes('5\nhello\r\n0\r\n\r\n')],
  ['chunk data longer than its size', chunkedRes('5\r\nhello!\r\n0\r\n\r\n')],
  ['chunk data followed by LF alone', chunkedRes('5\r\nhello\n0\r\n\r\n')],
  ['trailers', chunkedRes('5\r\nhello\r\n0\r\nx-checksum: 1\r\nx-b:\r\n\r\n')],
  ['a trailer that is not a header line', chunkedRes('5\r\nhello\r\n0\r\nnot a header\r\n\r\n')],
  ['a head over 16 KiB', res(`X-Junk: ${'a'.repeat(20 * 1024)}\r\nContent-Length: 5\r\n`, 'hello')],
];

describe('the reader against llhttp', () => {
  it.each(CASES)('%s', async (_what, text, safe) => {
    const bytes = Buffer.from(text, 'latin1');
    const [ref, ours] = [await llhttp(bytes), await reader(bytes)];
    if (process.env.RANGEPOOL_DIFF_PRINT) console.log(`${_what}: llhttp ${ref.ok ? `ok ${ref.status} ${JSON.stringify(ref.body)}` : ref.error} | reader ${ours.ok ? `ok ${ours.status} ${JSON.stringify(ours.body)}` : ours.error}`);
    if (ours.ok && !ref.ok) {
      // The reader accepts what llhttp refuses: only where the case says why that is safe.
      expect(safe, `llhttp refused (${ref.error}), the reader accepted: ${JSON.stringify(ours)}`).toBeDefined();
    } else if (ours.ok && ref.ok) {
      expect(ours).toEqual(ref);
    }
  });

  it('the cases cover both sides: the reader refuses what llhttp refuses, and some llhttp accepts', async () => {
    let refusedByBoth = 0;
    let acceptedByBoth = 0;
    for (const [, text] of CASES) {
      const bytes = Buffer.from(text, 'latin1');
      const [ref, ours] = [await llhttp(bytes), await reader(bytes)];
      if (!ref.ok && !ours.ok) refusedByBoth++;
      if (ref.ok && ours.ok) acceptedByBoth++;
    }
    expect(refusedByBoth).toBeGreaterThan(20);
    expect(acceptedByBoth).toBeGreaterThan(10);
  });
});
