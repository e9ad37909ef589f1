// The direct transport shared by the HTTP stores: a ranged GET on rangepool's own HTTP/1.1 reader, its
// body read from the socket straight into the target. Each cloud supplies only how to sign a request
// and how to read an object's identity from response headers; every check lives here, once.
import { ConnectionError, type Landing } from '../http/connection.js';
import { HttpClient, type HttpRequest, type HttpResponse } from '../http/client.js';
import { RangepoolError, printable } from '../errors.js';
import { redactUri } from '../redact.js';
import type { Location } from '../uri.js';
import { untilAborted } from '../engine/retry.js';
import { checkContentRange } from './body.js';
import { httpError } from './http-errors.js';
import type { FirstReadOptions, ObjectMeta, ReadOptions } from './store.js';
import type { RangeThreads } from '../threads/range-threads.js';
import type { RateLimit } from '../engine/rate-limit.js';

/** Error bodies are read up to this many bytes; the rest is never read (an endless one cannot grow memory). */
export const ERROR_BODY_LIMIT = 64 * 1024;

export interface DirectBackend {
  /** The signed GET for bytes [start, end] of loc, pinned to `version` (or to `ifMatch`) where given. */
  request(loc: Location, start: number, end: number, pin: { version?: ObjectMeta; ifMatch?: string }): Promise<HttpRequest>;
  /** The object's identity, dates and checksums as a response's headers state them. */
  describe(headers: Map<string, string>): Omit<ObjectMeta, 'size'>;
  /** For a first read the server refused as out of range (an empty object): what the object is. */
  stat(loc: Location, signal?: AbortSignal): Promise<ObjectMeta>;
  /** Follow 3xx redirects (at most MAX_REDIRECTS, the pin kept, no authorization across origins). Default: a 3xx is an error. */
  followRedirects?: boolean;
  /** Forget a cached signature for loc: a 401/403 is then asked once more with a fresh one. */
  resign?: (loc: Location) => void;
  /** Follow a redirect from https: to http: (the object then travels in clear text). Default false: refused. */
  allowInsecureRedirects?: boolean;
}

const MAX_REDIRECTS = 5;

export class DirectRanges {
  constructor(
    private readonly backend: DirectBackend,
    readonly http: HttpClient,
  ) {}

  async readRange(loc: Location, start: number, target: Buffer | Landing, opts: ReadOptions): Promise<void> {
    const end = start + target.length - 1;
    const res = await this.send(loc, start, end, { version: opts.version }, opts.signal, false, opts.threads, target instanceof Uint8Array ? target : undefined, opts.limit);
    if (res.tls) opts.onTls?.(res.tls);
    try {
      if (res.status !== 206 && !(res.status === 200 && start === 0 && end === opts.version.size - 1)) {
        throw new RangepoolError('IntegrityError', `asked for bytes ${start}-${end}, got HTTP ${res.status} without a range`, { uri: loc.uri, retryable: true });
      }
      if (res.status === 206) checkContentRange(res.headers.get('content-range'), start, end, opts.version.size, loc.uri);
      checkVersion(opts.version, this.backend.describe(res.headers), loc.uri);
      checkLength(res, target.length, loc.uri);
    } catch (e) {
      await res.drop(); // a range thread may be writing into target already: it stops first
      throw e;
    }
    await this.body(res, target, opts, loc.uri);
  }

  async readFirst(loc: Location, start: number, length: number, opts: FirstReadOptions): Promise<ObjectMeta> {
    const res = await this.send(loc, start, start + length - 1, { ifMatch: opts.ifMatch }, opts.signal, true, opts.threads);
    if (res.tls) opts.onTls?.(res.tls);
    if (res.status === 416) {
      // Past the end, or an empty object (S3 and GCS refuse any range of 0 bytes): ask what it is.
      res.drop();
      const meta = await this.backend.stat(loc, opts.signal);
      await opts.target(meta, { start, length: 0 });
      return meta;
    }
    let described: { meta: ObjectMeta; span: { start: number; length: number } };
    let target: Buffer | Landing;
    try {
      described = this.describeFirst(res, loc, start, length);
      target = await opts.target(described.meta, described.span);
    } catch (e) {
      res.drop();
      throw e;
    }
    if (described.meta.size === 0) res.drop(); // an empty object has no bytes to read, whatever else came with the answer
    else await this.body(res, target, opts, loc.uri);
    return described.meta;
  }

  /** What the object is, from the head of a one-byte ranged GET (for servers where that is the only way to ask). */
  async stat(loc: Location, signal: AbortSignal = new AbortController().signal): Promise<ObjectMeta> {
    const res = await this.send(loc, 0, 0, {}, signal, true);
    res.drop();
    if (res.status === 416) return { size: 0, ...this.backend.describe(res.headers) };
    return this.describeFirst(res, loc, 0, 1).meta;
  }

  /** The object's meta and the span of it a first response carries, checked against what was asked. */
  private describeFirst(res: HttpResponse, loc: Location, start: number, length: number): { meta: ObjectMeta; span: { start: number; length: number } } {
    const described = this.backend.describe(res.headers);
    const m = res.status === 206 ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '') : null;
    if (m && m[3] === '0' && start === 0) {
      // An empty object, as some servers say it ("bytes 0-0/0", which has no valid range in it).
      return { meta: { size: 0, ...described }, span: { start: 0, length: 0 } };
    }
    let result: { meta: ObjectMeta; span: { start: number; length: number } };
    if (res.status === 206) {
      // first <= last < size, starting where asked and no longer than asked (RFC 9110 14.4: a backwards range is invalid).
      if (!m || Number(m[1]) !== start || Number(m[2]) < Number(m[1]) || Number(m[2]) > start + length - 1 || Number(m[2]) >= Number(m[3])) {
        throw new RangepoolError('IntegrityError', `asked for bytes ${start}-${start + length - 1}, got Content-Range ${printable(res.headers.get('content-range') ?? 'none')}`, { uri: loc.uri, retryable: true });
      }
      result = { meta: { size: Number(m[3]), ...described }, span: { start, length: Number(m[2]) - start + 1 } };
    } else if (res.status === 200 && start === 0) {
      // No range support (or a server that ignores it): the whole object, in this one response.
      const cl = res.headers.get('content-length');
      if (cl === undefined) throw new RangepoolError('IntegrityError', 'a whole-object response without Content-Length: its size is unknown', { uri: loc.uri });
      result = { meta: { size: Number(cl), ...described }, span: { start: 0, length: Number(cl) } };
    } else if (res.status === 200) {
      // The server's limit, not a fault of this response: it ignores Range, so a part from an offset cannot be had.
      throw new RangepoolError('Unsupported', `the server ignores Range requests (HTTP 200, the whole object, to a request for bytes from ${start}): a part from an offset cannot be read from it; get the whole object`, { uri: loc.uri });
    } else {
      throw new RangepoolError('IntegrityError', `asked for bytes from ${start}, got HTTP ${res.status} without a range`, { uri: loc.uri, retryable: true });
    }
    if (result.meta.size > 0) checkLength(res, result.span.length, loc.uri);
    return result;
  }

  /** Sends the request; a response that is not 2xx (or an allowed 416) becomes the RangepoolError the SDK path would give. */
  private async send(loc: Location, start: number, end: number, pin: { version?: ObjectMeta; ifMatch?: string }, signal: AbortSignal, allow416: boolean, threads?: RangeThreads, into?: Buffer, limit?: RateLimit, resigned = false): Promise<HttpResponse> {
    // Signing can take a while on a busy machine (credentials, a presigned URL): an abort does not wait for it.
    const req = await untilAborted(this.backend.request(loc, start, end, pin), signal);
    const http = threads ? threads.clientFor(this.http) : this.http;
    let res: HttpResponse;
    for (let redirects = 0; ; redirects++) {
      try {
        res = await http.get(req, signal, into, limit);
      } catch (e) {
        throw connectionError(e, loc.uri, signal);
      }
      const location = res.headers.get('location');
      if (!this.backend.followRedirects || ![301, 302, 303, 307, 308].includes(res.status) || location === undefined || redirects >= MAX_REDIRECTS) break;
      await res.drop();
      let next: URL;
      try {
        next = new URL(location, req.url);
      } catch {
        throw new RangepoolError('IntegrityError', `a ${res.status} redirect to ${JSON.stringify(printable(redactUri(location)))}, which is not a URL`, { uri: loc.uri });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') break;
      if (req.url.protocol === 'https:' && next.protocol === 'http:' && !this.backend.allowInsecureRedirects) {
        throw new RangepoolError('InvalidArgument', `refusing a redirect from https: to http: (to ${printable(redactUri(next.href))}): the object would travel in clear text; set storeOptions.allowInsecureRedirects to follow it`, { uri: loc.uri });
      }
      if (next.origin !== req.url.origin) delete req.headers?.authorization;
      req.url = next;
    }
    if ((res.status >= 200 && res.status < 300) || (res.status === 416 && allow416)) return res;
    if ((res.status === 401 || res.status === 403) && this.backend.resign && !resigned) {
      await res.drop();
      this.backend.resign(loc);
      return this.send(loc, start, end, pin, signal, allow416, threads, into, limit, true);
    }
    let body = '';
    try {
      body = await res.readText(ERROR_BODY_LIMIT, signal);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
    }
    throw statusError(res, body, loc.uri);
  }

  private async body(res: HttpResponse, target: Buffer | Landing, opts: { signal: AbortSignal; onData: (n: number) => void; limit?: RateLimit | undefined }, uri: string): Promise<void> {
    let n: number;
    try {
      n = await res.readBody(target, { signal: opts.signal, onData: opts.onData, limit: opts.limit });
    } catch (e) {
      throw connectionError(e, uri, opts.signal);
    }
    if (n !== target.length) throw new RangepoolError('Unavailable', `response body ended after ${n} of ${target.length} bytes`, { uri });
  }
}

/** A response must come from the pinned version: a server that ignores If-Match or the generation is caught here. */
function checkVersion(version: ObjectMeta, served: Omit<ObjectMeta, 'size'>, uri: string): void {
  const [what, pinned, got] =
    version.generation !== undefined
      ? ['generation', version.generation, served.generation]
      : version.etag !== undefined
        ? ['ETag', version.etag, served.etag]
        : ['Last-Modified', version.lastModified?.toUTCString(), served.lastModified?.toUTCString()];
  if (pinned === undefined) return;
  if (got === undefined) throw new RangepoolError('PreconditionFailed', `the response carries no ${what} to check against the pinned ${pinned}`, { uri });
  if (got !== pinned) throw new RangepoolError('PreconditionFailed', `${what} ${printable(got)} was served, not the pinned ${pinned}: the object changed`, { uri });
}

function checkLength(res: HttpResponse, expected: number, uri: string): void {
  const cl = res.headers.get('content-length');
  if (cl !== undefined && Number(cl) !== expected) {
    throw new RangepoolError('IntegrityError', `Content-Length ${printable(cl)} does not match the ${expected} bytes of the range`, { uri, retryable: true });
  }
}

function connectionError(e: unknown, uri: string, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (e instanceof RangepoolError) return e;
  if (!(e instanceof ConnectionError)) return httpError(uri, e, undefined);
  switch (e.kind) {
    case 'stale':
    case 'closed':
      return httpError(uri, e, undefined); // a network error, or an untrusted certificate
    case 'head-too-large':
      return new RangepoolError('IntegrityError', e.message, { uri, cause: e });
    default:
      return new RangepoolError('IntegrityError', `bad response: ${e.message}`, { uri, cause: e, retryable: true });
  }
}

/** The service's own code and message from an S3/Azure XML or a GCS JSON error body. */
export function serviceError(body: string): { code?: string; message?: string } {
  const xml = (tag: string) => new RegExp(`<${tag}>([^<]{0,1024})</${tag}>`).exec(body)?.[1];
  if (body.trimStart().startsWith('<')) return { code: xml('Code'), message: xml('Message') };
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown; errors?: Array<{ reason?: unknown }>; code?: unknown } };
    const reason = j.error?.errors?.[0]?.reason;
    return { code: typeof reason === 'string' ? reason : undefined, message: typeof j.error?.message === 'string' ? j.error.message : undefined };
  } catch {
    return {};
  }
}

function statusError(res: HttpResponse, body: string, uri: string): RangepoolError {
  const { code, message } = serviceError(body);
  const cause = new Error(`HTTP ${res.status}${code ? ` ${printable(code)}` : ''}${message ? `: ${printable(message)}` : ''}`);
  if (res.status >= 300 && res.status < 400) {
    const region = res.headers.get('x-amz-bucket-region');
    const where = region ? `the bucket is in region ${printable(region)}: set AWS_REGION=${printable(region)} or storeOptions.region` : `redirected to ${printable(redactUri(res.headers.get('location') ?? 'nowhere'))}`;
    return new RangepoolError('InvalidArgument', `${where} (HTTP ${res.status}${code ? ` ${printable(code)}` : ''})`, { uri, cause });
  }
  return httpError(uri, cause, res.status, code === undefined ? undefined : printable(code));
}
