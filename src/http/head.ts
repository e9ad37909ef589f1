// Parsing an HTTP/1.1 response head, and writing a request head. Strict on purpose: what comes from a
// server is untrusted, so anything ambiguous (obs-fold, two different Content-Lengths, bytes that are
// not header syntax) is refused rather than guessed at. The rule for framing: where llhttp (Node's
// parser, what most intermediaries here run) would end a response elsewhere or not reuse the connection,
// the reader refuses the response or does not reuse it either: a HTAB after a Transfer-Encoding or
// Content-Length value, a 1xx or a trailer that says Connection: close, Proxy-Connection: close, chunk
// lines with whitespace (connection.ts). test/http/differential.test.ts and mutation.test.ts hold it to llhttp.

export interface ResponseHead {
  status: number;
  /** "1.1" or "1.0". */
  version: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Map<string, string>;
}

/** Thrown for bytes that are not an HTTP/1.x response head. */
export class HeadSyntaxError extends Error {
  override readonly name = 'HeadSyntaxError';
}

const STATUS_LINE = /^HTTP\/(1\.[01]) (\d{3})(?: [^\r\n]*)?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values may hold visible ASCII, obs-text and spaces/tabs, nothing else (no CR, LF or NUL).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Index just past the blank line that ends a head in buf[start, to), or -1; scanning resumes at `from`
 * (bytes before it were scanned already). A LF without its CR is refused at once, as llhttp does, rather
 * than waited on until the head limit.
 */
export function findHeadEnd(buf: Uint8Array, start: number, from: number, to: number): number {
  for (let i = Math.max(from, start); i < to; i++) {
    if (buf[i] !== 0x0a) continue;
    if (i === start || buf[i - 1] !== 0x0d) throw new HeadSyntaxError('a bare LF in the response head');
    if (i - start >= 3 && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i + 1;
  }
  return -1;
}

/** Parses the head in buf[start, end) (end just past the blank line). */
export function parseHead(buf: Buffer, start: number, end: number): ResponseHead {
  const lines = buf.toString('latin1', start, end - 4).split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (!m) throw new HeadSyntaxError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new HeadSyntaxError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    // Only SP and HTAB are whitespace here (RFC 9110 5.5); String.trim() would also eat CR, VT, FF and
    // NBSP, and read `chunked\xa0` as chunked where llhttp does not.
    const raw = line.slice(colon + 1);
    const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new HeadSyntaxError(`header ${name} holds control characters`);
    const key = name.toLowerCase();
    // llhttp takes `chunked<HTAB>` as not chunked (a body to the close) and refuses `5<HTAB>` as a length:
    // a reader that trimmed the HTAB would end the response elsewhere than llhttp and reuse the connection.
    if ((key === 'transfer-encoding' || key === 'content-length') && /\t[ \t]*$/.test(raw)) {
      throw new HeadSyntaxError(`a HTAB after the ${name} value: other parsers frame that response differently`);
    }
    const had = headers.get(key);
    // Even two equal ones: llhttp refuses them, and a reader that disagrees with other parsers on framing is how responses get smuggled.
    if (had !== undefined && key === 'content-length') throw new HeadSyntaxError('more than one Content-Length header');
    headers.set(key, had === undefined ? value : `${had}, ${value}`);
  }
  return { status: Number(m[2]), version: m[1]!, headers };
}

/** `GET path HTTP/1.1` with the given headers; refuses values that would split the head. */
export function requestHead(method: string, path: string, headers: Record<string, string>): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) throw new HeadSyntaxError(`refusing to send header ${JSON.stringify(name)}: bad characters`);
    head += `${name}: ${value}\r\n`;
  }
  if (/[\s\x00-\x1f\x7f]/.test(path)) throw new HeadSyntaxError('refusing to send a request path with spaces or control characters');
  return `${head}\r\n`;
}
