// Random, well-formed HTTP/1.1 responses of every framing the range reader must take, each with the body
// it carries: Content-Length, chunked (extensions, leading zeros, trailers), close-delimited, 1xx heads
// in front, 204/304, error bodies. Generated from a seed, so a failing one replays.

export interface ScriptedResponse {
  bytes: Buffer;
  /** The body a correct reader delivers. */
  body: Buffer;
  /** Whether the connection may carry another request after it. */
  keepAlive: boolean;
  /** Whether its end is the connection's end (the server closes after it). */
  closeDelimited: boolean;
  what: string;
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (random: () => number, max: number) => Math.floor(random() * (max + 1));

function randomBody(random: () => number, maxBody: number): Buffer {
  const n = random() < 0.1 ? 0 : random() < 0.9 ? int(random, Math.min(maxBody, 3000)) : int(random, maxBody);
  const body = Buffer.allocUnsafe(n);
  // Bytes a framing bug would confuse with framing: CR, LF, hex digits, ';' and '0'.
  const alphabet = Buffer.from('\r\n\r\n0;aF9 \t\x00\xff:', 'latin1');
  for (let i = 0; i < n; i++) body[i] = random() < 0.3 ? alphabet[int(random, alphabet.length - 1)]! : int(random, 255);
  return body;
}

/**
 * A header value with optional SP/HTAB around it (which a reader must trim, and nothing else). After a
 * framing value only SP: llhttp reads `chunked<HTAB>` as not chunked and refuses `5<HTAB>`.
 */
const padded = (random: () => number, v: string, framing = false) => `${pick(random, ['', ' ', '  ', '\t', ' \t'])}${v}${pick(random, framing ? ['', '', ' '] : ['', '', ' ', '\t'])}`;

function informational(random: () => number): string {
  return pick(random, ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n', 'HTTP/1.1 102 Processing\r\n\r\n']);
}

function chunked(random: () => number, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const n = Math.min(body.length - at, random() < 0.7 ? 1 + int(random, 40) : 1 + int(random, 9000));
    let size = n.toString(16);
    if (random() < 0.3) size = size.toUpperCase();
    if (random() < 0.1) size = `00${size}`;
    const ext = random() < 0.3 ? pick(random, [';a=1', ';name="q;u\\"o ted"', ';x', ';e', ';k=v;k2']) : '';
    parts.push(Buffer.from(`${size}${ext}\r\n`, 'latin1'), body.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  const last = `0${random() < 0.2 ? ';end=1' : ''}\r\n`;
  const trailers = random() < 0.3 ? pick(random, ['x-checksum: abc\r\n', 'a: 1\r\nb:\r\n', 'x-t:\tv \r\n']) : '';
  parts.push(Buffer.from(`${last}${trailers}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

/** One random response; `last` allows a close-delimited one (nothing can follow it). */
export function randomResponse(random: () => number, opts: { maxBody: number; last: boolean }): ScriptedResponse {
  const kind = pick(random, opts.last ? (['length', 'chunked', 'close', 'empty', 'error'] as const) : (['length', 'chunked', 'empty', 'error'] as const));
  const status = kind === 'error' ? pick(random, [404, 500, 503]) : kind === 'empty' ? pick(random, [204, 304]) : pick(random, [200, 206]);
  const body = kind === 'empty' ? Buffer.alloc(0) : randomBody(random, opts.maxBody);
  const close = kind !== 'close' && random() < 0.15;
  const lines = [`HTTP/1.1 ${status} ${pick(random, ['OK', 'Partial Content', 'Whatever', ''])}`.trimEnd()];
  const extra = ['ETag: "v1"', 'Content-Type: application/octet-stream', 'x-amz-request-id: 4442587FB7D0A2F9', 'Server: scripted'];
  for (const h of extra) if (random() < 0.5) lines.push(h.replace(/: (.*)/, (_, v: string) => `:${padded(random, v)}`));
  const framing = kind === 'chunked' || (kind === 'error' && random() < 0.5) ? 'chunked' : kind === 'close' || kind === 'empty' ? kind : 'length';
  if (framing === 'chunked') lines.push(`${pick(random, ['Transfer-Encoding', 'transfer-encoding', 'TRANSFER-ENCODING'])}:${padded(random, pick(random, ['chunked', 'Chunked']), true)}`);
  if (framing === 'length') lines.push(`${pick(random, ['Content-Length', 'content-length'])}:${padded(random, String(body.length), true)}`);
  if (close) lines.push('Connection: close');
  if (random() < 0.2 && !close) lines.push('Connection: keep-alive');
  const head = `${random() < 0.2 ? informational(random) : ''}${lines.join('\r\n')}\r\n\r\n`;
  const encoded = framing === 'chunked' ? chunked(random, body) : body;
  return {
    bytes: Buffer.concat([Buffer.from(head, 'latin1'), encoded]),
    body,
    keepAlive: framing !== 'close' && !close,
    closeDelimited: framing === 'close',
    what: `${status} ${framing}${close ? ' close' : ''}, ${body.length} body bytes`,
  };
}

/** 1 to 3 responses for one connection: each after the previous one kept it alive. */
export function randomExchange(random: () => number, maxBody: number): ScriptedResponse[] {
  const out: ScriptedResponse[] = [];
  const count = 1 + int(random, 2);
  for (let i = 0; i < count; i++) {
    const r = randomResponse(random, { maxBody, last: i === count - 1 });
    out.push(r);
    if (!r.keepAlive) break;
  }
  return out;
}
