// The download paths the benchmark compares. Each returns { download(key), freshLarge() } where
// download resolves once the object's bytes are in memory and released; freshLarge counts fresh
// allocations of at least 1 MiB made for results (measured for the pools, by construction elsewhere).
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BufferPool, RangeEngine, getObject, release, type Transport } from '../src/index.js';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';

/** What run-variant.ts passes each variant (one JSON argument). */
export interface VariantOptions {
  variant: string;
  url: string;
  key: string;
  size: number;
  parallel: number;
  downloads: number;
  partSize: number;
  /** Ranges per object: rangepool's adaptive limit when undefined (the peers then read 8 at once). */
  concurrency?: number;
  /** The loopback TLS server's certificate (and, for global fetch, NODE_EXTRA_CA_CERTS names its file). */
  ca?: string;
  /** The server's processes, whose CPU over the measured round is reported. */
  serverPids?: number[];
  /** rangepool's range threads (default: the engine's default). */
  threads?: number;
}

export interface Client {
  /** Resolves with the object's length once its bytes were in memory (and are released again). */
  download(key: string): Promise<number>;
  freshLarge(): number;
}

const MiB = 1 << 20;
/** Ranges per object the other stacks read at once where rangepool adapts (its old fixed default). */
export const PEER_CONCURRENCY = 8;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

function rangepool(url: string, pool: BufferPool, { partSize, concurrency, ca, threads }: VariantOptions, transport?: Transport, asUrl = false): Client {
  const engine = new RangeEngine({ partSize, ...(concurrency !== undefined ? { concurrency } : {}), maxInFlight: 256, threads });
  const storeOptions = { endpoint: url, credentials, maxSockets: 256, transport, ...(ca ? { tls: { ca } } : {}) };
  return {
    async download(key: string) {
      const { buffer } = await getObject(asUrl ? `${url}/bench/${key}` : `s3://bench/${key}`, { pool, engine, storeOptions });
      const length = buffer.byteLength;
      release(buffer);
      return length;
    },
    freshLarge: () => pool.stats().fresh,
  };
}

/** a. What a user writes today: GetObject, then transformToByteArray (chunks, then one big copy). */
async function sdk(url: string, { ca }: VariantOptions): Promise<Client> {
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  const client = new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }), httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256, ca }) }),
  });
  let downloads = 0;
  return {
    async download(key: string) {
      const res = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
      const bytes = await res.Body!.transformToByteArray();
      downloads++;
      return bytes.byteLength;
    },
    freshLarge: () => downloads, // one result array of the object's size per download
  };
}

/** Reads one range's body chunks into its place in the target; rejects unless exactly the range arrived. */
type RangeGet = (url: string, target: Buffer, start: number, end: number) => Promise<void>;

/**
 * The same plan as rangepool's (parts of partSize, `concurrency` per object) on another HTTP stack, into
 * buffers allocated once and reused forever: each chunk the stack hands over is copied into place.
 */
function rangesInto(url: string, { partSize, concurrency, size, parallel }: VariantOptions, get: RangeGet): Client {
  const free = Array.from({ length: parallel }, () => Buffer.allocUnsafeSlow(size));
  return {
    async download(key: string) {
      const target = free.pop()!;
      const parts: [number, number][] = [];
      for (let s = 0; s < size; s += partSize) parts.push([s, Math.min(size, s + partSize) - 1]);
      const worker = async () => {
        for (let p = parts.shift(); p; p = parts.shift()) await get(`${url}/bench/${key}`, target, p[0], p[1]);
      };
      await Promise.all(Array.from({ length: concurrency ?? PEER_CONCURRENCY }, worker));
      free.push(target);
      return size;
    },
    freshLarge: () => parallel, // allocated once, up front
  };
}

/** Copies a Node stream's chunks into target[start..end] ('data' events: the cheapest way to read one). */
function copyChunks(body: NodeJS.ReadableStream, target: Buffer, start: number, end: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let at = start;
    body.on('data', (chunk: Buffer) => {
      if (at + chunk.byteLength > end + 1) return reject(new Error(`range overran ${start}-${end}`));
      target.set(chunk, at);
      at += chunk.byteLength;
    });
    body.on('end', () => (at === end + 1 ? resolve() : reject(new Error(`short range ${at}/${end + 1}`))));
    body.on('error', reject);
  });
}

/** e. The ceiling of Node's HTTP stack here (node:https over TLS). */
function rawHttp(url: string, o: VariantOptions): Client {
  const https = url.startsWith('https:');
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 256, ca: o.ca }) : new Agent({ keepAlive: true, maxSockets: 256 });
  const send = https ? httpsRequest : request;
  return rangesInto(url, o, (u, target, start, end) =>
    new Promise<void>((resolve, reject) => {
      const req = send(u, { agent, headers: { range: `bytes=${start}-${end}` } }, (res) => {
        if (res.statusCode !== 206) return reject(new Error(`HTTP ${res.statusCode}`));
        copyChunks(res, target, start, end).then(resolve, reject);
      });
      req.on('error', reject);
      req.end();
    }),
  );
}

/** h. undici's request(), the HTTP client under Node's fetch, used directly. */
function undici(url: string, o: VariantOptions): Client {
  const dispatcher = new UndiciAgent({ connections: 256, connect: o.ca ? { ca: o.ca } : {} });
  return rangesInto(url, o, async (u, target, start, end) => {
    const res = await undiciRequest(u, { dispatcher, headers: { range: `bytes=${start}-${end}` } });
    if (res.statusCode !== 206) throw new Error(`HTTP ${res.statusCode}`);
    await copyChunks(res.body, target, start, end);
  });
}

/** i. The global fetch() users reach for first (its certificate trust from NODE_EXTRA_CA_CERTS). */
function globalFetch(url: string, o: VariantOptions): Client {
  return rangesInto(url, o, async (u, target, start, end) => {
    const res = await fetch(u, { headers: { range: `bytes=${start}-${end}` } });
    if (res.status !== 206) throw new Error(`HTTP ${res.status}`);
    const reader = res.body!.getReader();
    let at = start;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (at + r.value.byteLength > end + 1) throw new Error(`range overran ${start}-${end}`);
      target.set(r.value, at);
      at += r.value.byteLength;
    }
    if (at !== end + 1) throw new Error(`short range ${at}/${end + 1}`);
  });
}

export const VARIANTS: Record<string, { label: string; make: (url: string, o: VariantOptions) => Client | Promise<Client> }> = {
  a: { label: 'a. AWS SDK GetObject + transformToByteArray', make: (url, o) => sdk(url, o) },
  b: { label: 'b. rangepool get(), fresh unpooled buffers', make: (url, o) => rangepool(url, new BufferPool({ idlePerClass: 0, maxBytes: 64 * 1024 * MiB }), o) },
  c: { label: 'c. rangepool get(), native pool (direct transport)', make: (url, o) => rangepool(url, new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o) },
  d: { label: 'd. rangepool get(), JS fallback pool', make: (url, o) => rangepool(url, new BufferPool({ implementation: 'js', maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o) },
  e: { label: 'e. raw node:http ranges into reused buffers', make: (url, o) => rawHttp(url, o) },
  f: { label: 'f. rangepool get(), native pool, SDK transport', make: (url, o) => rangepool(url, new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o, 'sdk') },
  g: { label: 'g. rangepool get() of an http(s):// URL', make: (url, o) => rangepool(url, new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o, undefined, true) },
  h: { label: 'h. undici request() ranges into reused buffers', make: (url, o) => undici(url, o) },
  // g with TLS records decrypted by Node, one JavaScript call per record (the path before the native reader).
  j: {
    label: "j. rangepool get() of an https:// URL on Node's TLS (RANGEPOOL_NATIVE_TLS=0)",
    make: (url, o) => {
      process.env.RANGEPOOL_NATIVE_TLS = '0';
      return rangepool(url, new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o, undefined, true);
    },
  },
  i: { label: 'i. global fetch() ranges into reused buffers', make: (url, o) => globalFetch(url, o) },
};
