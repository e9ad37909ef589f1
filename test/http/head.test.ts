// The HTTP/1.1 head parser and writer on their own: strict about what it accepts and sends.
import { describe, expect, it } from 'vitest';
import { HeadSyntaxError, findHeadEnd, parseHead, requestHead } from '../../src/http/head.js';

const head = (text: string) => {
  const buf = Buffer.from(text, 'latin1');
  return parseHead(buf, 0, findHeadEnd(buf, 0, 0, buf.length));
};

describe('findHeadEnd', () => {
  it('finds the blank line, from any starting point, and says -1 until it is there', () => {
    const buf = Buffer.from('HTTP/1.1 200 OK\r\na: b\r\n\r\nbody');
    expect(findHeadEnd(buf, 0, 0, buf.length)).toBe(buf.indexOf('body'));
    expect(findHeadEnd(buf, 0, 20, buf.length)).toBe(buf.indexOf('body'));
    expect(findHeadEnd(buf, 0, 0, buf.indexOf('body') - 1)).toBe(-1);
  });

  it('refuses a LF without its CR at once, wherever it is', () => {
    expect(() => findHeadEnd(Buffer.from('HTTP/1.1 200 OK\nContent-Length: 1\n\nx'), 0, 0, 40)).toThrow(HeadSyntaxError);
    expect(() => findHeadEnd(Buffer.from('HTTP/1.1 200 OK\r\na: b\n\r\n'), 0, 0, 26)).toThrow(HeadSyntaxError);
  });
});

describe('parseHead', () => {
  it('reads status, version and lower-cased headers; repeated ones are joined', () => {
    const h = head('HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nX-A: 1\r\nx-a:  2 \r\n\r\n');
    expect(h.status).toBe(206);
    expect(h.version).toBe('1.1');
    expect(h.headers.get('content-length')).toBe('5');
    expect(h.headers.get('x-a')).toBe('1, 2');
  });

  it('a status line without a reason phrase is fine', () => {
    expect(head('HTTP/1.0 404\r\n\r\n').status).toBe(404);
  });

  it.each([
    ['not HTTP', 'ICY 200 OK\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\na: b\r\n  folded\r\n\r\n'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nnocolon\r\n\r\n'],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n'],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\na: b\x00c\r\n\r\n'],
    ['a header line ending in CR CR LF', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\r\n\r\n'],
    ['a value wrapped in VT', 'HTTP/1.1 200 OK\r\ncontent-length: \x0b1\x0b\r\n\r\n'],
    ['a value wrapped in FF', 'HTTP/1.1 200 OK\r\ncontent-length: \x0c1\r\n\r\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => head(text)).toThrow(HeadSyntaxError);
  });
});

describe('whitespace around values', () => {
  it('only SP and HTAB are trimmed: NBSP stays part of the value', () => {
    expect(head('HTTP/1.1 200 OK\r\na: \t b \t\r\n\r\n').headers.get('a')).toBe('b');
    expect(head('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\xa0\r\n\r\n').headers.get('transfer-encoding')).toBe('chunked\xa0');
  });
});

describe('requestHead', () => {
  it('writes a GET with its headers', () => {
    expect(requestHead('GET', '/b/k?x=1', { host: 'h', range: 'bytes=0-1' })).toBe('GET /b/k?x=1 HTTP/1.1\r\nhost: h\r\nrange: bytes=0-1\r\n\r\n');
  });

  it('refuses a value or path that would split the request (header injection)', () => {
    expect(() => requestHead('GET', '/', { 'if-match': '"a"\r\nx-evil: 1' })).toThrow(HeadSyntaxError);
    expect(() => requestHead('GET', '/a b', {})).toThrow(HeadSyntaxError);
  });
});
