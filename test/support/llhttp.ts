// llhttp, Node's own HTTP parser, as the framing reference: the raw parser node:http's client uses
// (`_http_common`'s HTTPParser, strict, as the client sets it up), fed a byte stream of responses to
// GETs on one connection. It says where each response ends, what its body is, whether the connection
// may carry the next one, and where it stopped with an error.
import { createRequire } from 'node:module';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(buf: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  [k: number]: unknown;
}
interface ParserClass {
  new (): Parser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}

const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserClass };

export interface LlhttpMessage {
  status: number;
  body: Buffer;
  /** llhttp's word on whether the connection may carry another request after this response. */
  keepAlive: boolean;
}

export interface LlhttpResult {
  /** Complete final (non-1xx) responses, in order. */
  messages: LlhttpMessage[];
  /** Why it stopped, if it did not take every byte and the end of the stream cleanly. */
  error?: string;
  /** Bytes of the stream that belong to each complete message (its last byte's index + 1), for replaying them apart. */
  ends: number[];
}

/** Parses `bytes` as the responses to GETs on one connection; `eof`: the server closed after them. */
export function llhttpParse(bytes: Buffer, eof = true): LlhttpResult {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, 16 * 1024, 0);
  const messages: LlhttpMessage[] = [];
  const ends: number[] = [];
  let current: { status: number; chunks: Buffer[]; keepAlive: boolean; informational: boolean } | undefined;
  let offset = 0;
  let completedAt = -1;
  parser[HTTPParser.kOnHeaders] = () => {};
  parser[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, _h: unknown, _m: unknown, _u: unknown, status: number, _sm: unknown, upgrade: boolean, keepAlive: boolean) => {
    current = { status, chunks: [], keepAlive, informational: status >= 100 && status < 200 && status !== 101 };
    if (upgrade || status === 101) return 2; // no body, stop: an upgrade is refused by the reader anyway
    return current.informational ? 1 : 0; // as node:http's client: a 1xx has no body and the real head follows
  };
  parser[HTTPParser.kOnBody] = (b: Buffer, start?: number, len?: number) => {
    current?.chunks.push(Buffer.from(typeof start === 'number' ? b.subarray(start, start + len!) : b));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (current && !current.informational) {
      messages.push({ status: current.status, body: Buffer.concat(current.chunks), keepAlive: current.keepAlive });
      completedAt = messages.length;
    }
    current = undefined;
  };
  let error: string | undefined;
  // Byte by byte, so each message's end is known exactly (llhttp calls back within execute()).
  for (; offset < bytes.length && error === undefined; offset++) {
    const r = parser.execute(bytes.subarray(offset, offset + 1));
    if (r instanceof Error) error = (r as Error & { code?: string }).code ?? r.message;
    if (completedAt === messages.length && ends.length < messages.length) ends.push(offset + 1);
    if (messages.at(-1)?.status === 101) break;
  }
  if (error === undefined && eof) {
    const r = parser.finish();
    if (r instanceof Error) error = (r as Error & { code?: string }).code ?? r.message;
    else if (current) error = 'incomplete';
    if (ends.length < messages.length) ends.push(bytes.length);
  }
  parser.close();
  return { messages, error, ends };
}
