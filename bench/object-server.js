// The project's own loopback object server: in-memory, S3-style path URLs (/bucket/key), with Range
// (including suffix ranges), ETag, If-Match, full-object checksums and fault injection. Hand-written on
// node:http on purpose: no emulator injects faults or honours If-Match on S3 (s3rver does neither), and
// the benchmark needs a server that costs as little CPU as possible per byte.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/**
 * @typedef {{ bucket?: string, key?: string }} Match
 * @typedef {(
 *   | { kind: 'status', status: number }
 *   | { kind: 'reset', afterBytes?: number }
 *   | { kind: 'short', afterBytes?: number }
 *   | { kind: 'wrongRange', shift?: number }
 *   | { kind: 'stall', afterBytes?: number, ms?: number }
 *   | { kind: 'overwrite', afterRequests: number, data: Buffer }
 * ) & { probability?: number, count?: number, match?: Match, on?: 'range' | 'head' }} FaultRule
 * @typedef {{ data: Buffer, etag: string, lastModified: Date, crc32c?: string, crc64nvme?: string, serveChecksums?: string[] }} StoredObject
 */

const CRC32C_POLY = 0x82f63b78;
const CRC64NVME_POLY = 0x9a6c9329ac4bc9b5n; // reflected 0xAD93D23594C93659
let crc32cTable;
let crc64Table;

/** CRC32C, independent of the package's own (this server is what the package is checked against). */
export function crc32c(buf) {
  crc32cTable ??= Uint32Array.from({ length: 256 }, (_, i) => {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crc32cTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC64/NVME as S3 publishes it (x-amz-checksum-crc64nvme). Slow (BigInt): computed once, lazily. */
export function crc64nvme(buf) {
  crc64Table ??= Array.from({ length: 256 }, (_, i) => {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64NVME_POLY : c >> 1n;
    return c;
  });
  let c = 0xffffffffffffffffn;
  for (let i = 0; i < buf.length; i++) c = crc64Table[Number((c ^ BigInt(buf[i])) & 0xffn)] ^ (c >> 8n);
  return c ^ 0xffffffffffffffffn;
}

const b64 = (n, bytes) => {
  const out = Buffer.alloc(bytes);
  if (bytes === 4) out.writeUInt32BE(n);
  else out.writeBigUInt64BE(n);
  return out.toString('base64');
};

const xmlEscape = (s) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function sendError(res, status, code, message, extraHeaders = {}) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), ...extraHeaders });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Parses one `bytes=` range against `size`: [start, end] inclusive, 'unsatisfiable', or undefined (whole). */
export function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').split(',')[0].trim()); // multi-range: the first only
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start;
  let end;
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

/** Small seeded PRNG (mulberry32) so fault campaigns are reproducible. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @param {{ port?: number, host?: string, seed?: number, tls?: { key: string, cert: string } }} [opts]
 */
export async function startObjectServer(opts = {}) {
  /** @type {Map<string, Map<string, StoredObject>>} */
  const buckets = new Map();
  /** @type {(FaultRule & { fired: number })[]} */
  let rules = [];
  let random = prng(opts.seed ?? 1);
  let rangeRequests = 0;
  const sockets = new Set();
  /** @type {{ requests: Record<string, number>, bytesSent: number, faults: Record<string, number>, inFlight: number, peakInFlight: number }} */
  const stats = { requests: { GET: 0, HEAD: 0, PUT: 0, DELETE: 0 }, bytesSent: 0, faults: {}, inFlight: 0, peakInFlight: 0 };

  /** @param {string} bucket @param {string} key @param {Buffer} data @returns {StoredObject} */
  function put(bucket, key, data) {
    if (!buckets.has(bucket)) buckets.set(bucket, new Map());
    const etag = `"${createHash('md5').update(data).digest('hex')}"`;
    const obj = { data, etag, lastModified: new Date(Math.floor(Date.now() / 1000) * 1000) };
    buckets.get(bucket).set(key, obj);
    return obj;
  }

  // Which checksums an object has; real S3 keeps CRC64NVME by default and CRC32C only when asked.
  function checksums(obj) {
    const serve = obj.serveChecksums ?? ['crc32c', 'crc64nvme'];
    const headers = { 'x-amz-checksum-type': 'FULL_OBJECT' };
    if (serve.includes('crc32c')) headers['x-amz-checksum-crc32c'] = obj.crc32c ??= b64(crc32c(obj.data), 4);
    if (serve.includes('crc64nvme')) headers['x-amz-checksum-crc64nvme'] = obj.crc64nvme ??= b64(crc64nvme(obj.data), 8);
    return headers;
  }

  /** The first rule that applies to this request (ranged GETs, or HEADs with on: 'head') and fires. */
  function pickFault(on, bucket, key) {
    for (const rule of rules) {
      if ((rule.on ?? 'range') !== on) continue;
      if (rule.match?.bucket && rule.match.bucket !== bucket) continue;
      if (rule.match?.key && rule.match.key !== key) continue;
      if (rule.count !== undefined && rule.fired >= rule.count) continue;
      if (rule.kind === 'overwrite') {
        if (rangeRequests <= rule.afterRequests) continue;
      } else if (rule.probability !== undefined && random() >= rule.probability) continue;
      rule.fired++;
      stats.faults[rule.kind] = (stats.faults[rule.kind] ?? 0) + 1;
      return rule;
    }
    return undefined;
  }

  function list(res, bucket, url) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const max = Number(url.searchParams.get('max-keys') ?? 1000);
    const after = url.searchParams.get('continuation-token') ?? url.searchParams.get('start-after') ?? '';
    const keys = [...buckets.get(bucket).keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const o = buckets.get(bucket).get(k);
        return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.data.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const next = truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1])}</NextContinuationToken>` : '';
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** Writes `body` honouring the fault (reset, short, stall, wrong range) chosen for this request. */
  function sendBody(res, body, fault) {
    const cut = fault && 'afterBytes' in fault ? Math.min(fault.afterBytes ?? 0, body.length) : body.length;
    switch (fault?.kind) {
      case 'reset':
        res.write(body.subarray(0, cut), () => res.socket?.destroy());
        return;
      case 'short': // promises the full length, sends less, then closes the connection
        res.write(body.subarray(0, cut), () => res.socket?.end());
        return;
      case 'stall': {
        res.write(body.subarray(0, cut));
        if (fault.ms === undefined || fault.ms === Infinity) return; // until the client gives up
        const timer = setTimeout(() => res.end(body.subarray(cut)), fault.ms);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      default:
        stats.bytesSent += body.length;
        res.end(body);
    }
  }

  function get(req, res, bucket, key, url) {
    const objects = buckets.get(bucket);
    if (!key) {
      if (req.method === 'GET' && url.searchParams.get('list-type') === '2') return list(res, bucket, url);
      return sendError(res, 400, 'InvalidRequest', 'a key is required');
    }
    const ranged = req.headers.range !== undefined;
    if (ranged) rangeRequests++;
    const on = req.method === 'HEAD' ? 'head' : ranged ? 'range' : undefined;
    const fault = on && pickFault(on, bucket, key);
    if (fault?.kind === 'overwrite') put(bucket, key, fault.data);
    const obj = objects.get(key);
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
      ...(req.headers['x-amz-checksum-mode'] === 'ENABLED' ? checksums(obj) : {}),
    };
    const size = obj.data.length;
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      return sendError(res, 416, 'InvalidRange', 'The requested range is not satisfiable', { 'Content-Range': `bytes */${size}` });
    }
    if (range === undefined) {
      res.writeHead(200, { ...headers, 'Content-Length': size });
      return req.method === 'HEAD' ? res.end() : sendBody(res, obj.data, fault);
    }
    let [start, end] = range;
    if (fault?.kind === 'wrongRange') {
      const shift = fault.shift ?? 1;
      start = Math.min(start + shift, size - 1);
      end = Math.min(end + shift, size - 1);
    }
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    if (req.method === 'HEAD') return res.end();
    sendBody(res, obj.data.subarray(start, end + 1), fault);
  }

  function control(req, res, url, body) {
    if (url.pathname === '/_control/faults' && req.method === 'POST') {
      const { rules: next = [], seed } = JSON.parse(body.toString() || '{}');
      setFaults(next.map((r) => (r.data !== undefined ? { ...r, data: Buffer.from(r.data, 'base64') } : r)), seed);
      res.writeHead(204).end();
    } else if (url.pathname === '/_control/stats') {
      const text = JSON.stringify(stats);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
    } else sendError(res, 404, 'NoSuchControl', url.pathname);
  }

  function setFaults(next, seed) {
    rules = next.map((r) => ({ ...r, fired: 0 }));
    rangeRequests = 0;
    if (seed !== undefined) random = prng(seed);
  }

  const handler = (req, res) => {
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    res.once('close', () => stats.inFlight--);
    const url = new URL(req.url, 'http://loopback');
    stats.requests[req.method] = (stats.requests[req.method] ?? 0) + 1;
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const decodedBucket = decodeURIComponent(bucket);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (bucket === '_control') return control(req, res, url, Buffer.alloc(0));
      if (!buckets.has(decodedBucket)) return sendError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
      return get(req, res, decodedBucket, key, url);
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (bucket === '_control') return control(req, res, url, body);
      if (req.method === 'PUT') {
        if (!key) {
          if (!buckets.has(decodedBucket)) buckets.set(decodedBucket, new Map());
          return res.writeHead(200).end();
        }
        // The SDK's default integrity mode frames bodies as aws-chunked: refuse rather than store framing.
        if (/aws-chunked/.test(req.headers['content-encoding'] ?? '') || /^STREAMING-/.test(req.headers['x-amz-content-sha256'] ?? '')) {
          return sendError(res, 400, 'NotImplemented', "aws-chunked uploads are not supported: use requestChecksumCalculation: 'WHEN_REQUIRED'");
        }
        const obj = put(decodedBucket, key, body);
        return res.writeHead(200, { ETag: obj.etag }).end();
      }
      if (req.method === 'DELETE') {
        buckets.get(decodedBucket)?.delete(key);
        return res.writeHead(204).end();
      }
      sendError(res, 405, 'MethodNotAllowed', req.method);
    });
  };
  const server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.on('connection', (s) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());

  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    stats,
    put,
    /** @returns {StoredObject | undefined} */
    get: (bucket, key) => buckets.get(bucket)?.get(key),
    delete: (bucket, key) => buckets.get(bucket)?.delete(key),
    createBucket: (bucket) => void (buckets.has(bucket) || buckets.set(bucket, new Map())),
    /** @param {FaultRule[]} next @param {number} [seed] */
    setFaults,
    faultsFired: () => rules.map((r) => r.fired),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
