// The S3-style HTTP surface: path URLs (/bucket/key), GET/HEAD with Range (suffix ranges too), If-Match,
// checksums on request, ListObjectsV2, PUT/DELETE, a shaped network (shaper.ts) for object GETs and HEADs,
// and /_control/{faults,shape,stats,replicate} for a server in another process.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Faults, sendBody, type FaultRule } from './faults.js';
import type { Shaper, ShapeOptions } from './shaper.js';
import type { Storage } from './storage.js';

export interface ServerStats {
  requests: Record<string, number>;
  bytesSent: number;
  faults: Record<string, number>;
  inFlight: number;
  peakInFlight: number;
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function sendError(res: ServerResponse, status: number, code: string, message: string, extraHeaders: Record<string, string> = {}): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), ...extraHeaders });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Parses one `bytes=` range against `size`: [start, end] inclusive, 'unsatisfiable', or undefined (whole). */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').split(',')[0]!.trim()); // multi-range: the first only
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]); // suffix: the last n bytes
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid: ignored, as S3 does
  }
  return start >= size ? 'unsatisfiable' : [start, end];
}

export function routes(storage: Storage, faults: Faults, stats: ServerStats, shaper: Shaper): RequestListener {
  /**
   * ListObjectsV2: keys under `prefix` in order; with `delimiter`, the keys with a further delimiter come as
   * one CommonPrefix each (up to and including it). MaxKeys counts both. The continuation token is K:key
   * (the last key) or F:prefix (the last common prefix: past every key under it).
   */
  function list(res: ServerResponse, bucket: string, url: URL): void {
    stats.requests.LIST = (stats.requests.LIST ?? 0) + 1; // (counted as a GET too)
    const prefix = url.searchParams.get('prefix') ?? '';
    const delimiter = url.searchParams.get('delimiter') ?? '';
    const max = Number(url.searchParams.get('max-keys') ?? 1000);
    const token = url.searchParams.get('continuation-token');
    let skip = token?.startsWith('F:') ? token.slice(2) : undefined; // a common prefix listed already
    const after = token ? token.slice(2) : (url.searchParams.get('start-after') ?? '');
    const page: Array<{ key: string } | { folder: string }> = [];
    for (const k of storage.keys(bucket, prefix, after)) {
      if (skip !== undefined && k.startsWith(skip)) continue;
      const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      if (at >= 0) page.push({ folder: (skip = k.slice(0, at + delimiter.length)) });
      else page.push({ key: k });
      if (page.length > max) break;
    }
    const truncated = page.length > max;
    if (truncated) page.pop();
    const contents = page
      .map((item) => {
        if ('folder' in item) return `<CommonPrefixes><Prefix>${xmlEscape(item.folder)}</Prefix></CommonPrefixes>`;
        const o = storage.get(bucket, item.key)!;
        return `<Contents><Key>${xmlEscape(item.key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.data.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const last = page[page.length - 1];
    const next = truncated && last ? `<NextContinuationToken>${xmlEscape('folder' in last ? `F:${last.folder}` : `K:${last.key}`)}</NextContinuationToken>` : '';
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>${delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : ''}<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  function get(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, url: URL): void {
    if (!key) {
      if (req.method === 'GET' && url.searchParams.get('list-type') === '2') return list(res, bucket, url);
      return sendError(res, 400, 'InvalidRequest', 'a key is required');
    }
    if (!shaper.shaping) return object(req, res, bucket, key, undefined);
    shaper.admit(
      res,
      () => sendError(res, 503, 'SlowDown', 'Please reduce your request rate.'),
      (pace) => object(req, res, bucket, key, pace),
    );
  }

  /** An object's GET or HEAD; `pace` sends a body at the shaped rate (faults send theirs as they say). */
  function object(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, pace: ((body: Buffer) => void) | undefined): void {
    const send = (body: Buffer, fault: FaultRule | undefined) => (fault || !pace ? sendBody(res, body, fault) : (pace(body), body.length));
    const ranged = req.headers.range !== undefined;
    if (ranged) faults.rangeRequests++;
    const on = req.method === 'HEAD' ? 'head' : ranged ? 'range' : undefined;
    const fault = on && faults.pick(on, bucket, key);
    if (fault?.kind === 'overwrite') storage.put(bucket, key, fault.data);
    const obj = storage.get(bucket, key);
    if (!obj) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    if (fault?.kind === 'status') {
      const code = { 429: 'TooManyRequests', 503: 'SlowDown', 500: 'InternalError' }[fault.status] ?? 'InternalError';
      return sendError(res, fault.status, code, 'injected fault', fault.status === 503 || fault.status === 429 ? { 'Retry-After': '0' } : {});
    }
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== '*' && ifMatch !== obj.etag && `"${ifMatch}"` !== obj.etag) {
      return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    const headers = {
      'Content-Type': 'application/octet-stream',
      ETag: obj.etag,
      'Last-Modified': obj.lastModified.toUTCString(),
      'Accept-Ranges': 'bytes',
      ...(req.headers['x-amz-checksum-mode'] === 'ENABLED' ? storage.checksumHeaders(obj) : {}),
    };
    const size = obj.data.length;
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      return sendError(res, 416, 'InvalidRange', 'The requested range is not satisfiable', { 'Content-Range': `bytes */${size}` });
    }
    if (range === undefined) {
      res.writeHead(200, { ...headers, 'Content-Length': size });
      if (req.method === 'HEAD') res.end();
      else stats.bytesSent += send(obj.data, fault);
      return;
    }
    let [start, end] = range;
    if (fault?.kind === 'wrongRange') {
      const shift = fault.shift ?? 1;
      start = Math.min(start + shift, size - 1);
      end = Math.min(end + shift, size - 1);
    }
    if (fault?.kind === 'overrun') {
      // The range it was asked for in its Content-Range, then a chunked body of other bytes that runs on past it.
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}` });
      const body = Buffer.from(obj.data.subarray(start, end + 1));
      for (let i = 0; i < body.length; i++) body[i]! ^= 0x5a;
      res.write(body);
      res.end(Buffer.alloc(fault.extra ?? 1, 0x5a));
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    if (req.method === 'HEAD') res.end();
    else stats.bytesSent += send(obj.data.subarray(start, end + 1), fault);
  }

  function control(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    if (url.pathname === '/_control/faults' && req.method === 'POST') {
      const { rules = [], seed } = JSON.parse(body.toString() || '{}') as { rules?: (FaultRule & { data?: string })[]; seed?: number };
      faults.set(rules.map((r) => (r.data !== undefined ? { ...r, data: Buffer.from(r.data, 'base64') } : r) as FaultRule), seed);
      res.writeHead(204).end();
    } else if (url.pathname === '/_control/replicate' && req.method === 'POST') {
      // {bucket, key, prefix, count}: `count` objects named prefix0..prefixN-1 sharing one object's bytes,
      // so a benchmark of many large objects costs the server one copy of memory, not `count`.
      const { bucket, key, prefix, count } = JSON.parse(body.toString()) as { bucket: string; key: string; prefix: string; count: number };
      const from = storage.get(bucket, key);
      if (!from) return sendError(res, 404, 'NoSuchKey', `${bucket}/${key}`);
      for (let i = 0; i < count; i++) storage.put(bucket, `${prefix}${i}`, from.data);
      res.writeHead(204).end();
    } else if (url.pathname === '/_control/shape' && req.method === 'POST') {
      shaper.set(JSON.parse(body.toString() || '{}') as ShapeOptions);
      res.writeHead(204).end();
    } else if (url.pathname === '/_control/shape') {
      const text = JSON.stringify(shaper.stats);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
    } else if (url.pathname === '/_control/stats') {
      const text = JSON.stringify(stats);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
    } else sendError(res, 404, 'NoSuchControl', url.pathname);
  }

  function write(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, body: Buffer): void {
    if (req.method === 'PUT') {
      if (!key) {
        storage.createBucket(bucket);
        res.writeHead(200).end();
        return;
      }
      // The SDK's default integrity mode frames bodies as aws-chunked: refuse rather than store framing.
      if (/aws-chunked/.test(req.headers['content-encoding'] ?? '') || /^STREAMING-/.test(String(req.headers['x-amz-content-sha256'] ?? ''))) {
        return sendError(res, 400, 'NotImplemented', "aws-chunked uploads are not supported: use requestChecksumCalculation: 'WHEN_REQUIRED'");
      }
      const obj = storage.put(bucket, key, body);
      res.writeHead(200, { ETag: obj.etag }).end();
    } else if (req.method === 'DELETE') {
      storage.delete(bucket, key);
      res.writeHead(204).end();
    } else sendError(res, 405, 'MethodNotAllowed', req.method ?? '');
  }

  return (req, res) => {
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    res.once('close', () => stats.inFlight--);
    const method = req.method ?? '';
    stats.requests[method] = (stats.requests[method] ?? 0) + 1;
    const url = new URL(req.url ?? '/', 'http://loopback');
    const [, rawBucket = '', ...rest] = url.pathname.split('/');
    const bucket = decodeURIComponent(rawBucket);
    const key = decodeURIComponent(rest.join('/'));
    if (method === 'GET' || method === 'HEAD') {
      if (rawBucket === '_control') return control(req, res, url, Buffer.alloc(0));
      if (!storage.hasBucket(bucket)) return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      return get(req, res, bucket, key, url);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (rawBucket === '_control') control(req, res, url, body);
      else write(req, res, bucket, key, body);
    });
  };
}
