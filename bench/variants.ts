// The download paths the benchmark compares. Each returns { download(key), freshLarge() } where
// download resolves once the object's bytes are in memory and released; freshLarge counts fresh
// allocations of at least 1 MiB made for results (measured for the pools, by construction elsewhere).
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BufferPool, RangeEngine, getObject, release, type Transport } from '../src/index.js';

/** What run-variant.ts passes each variant (one JSON argument). */
export interface VariantOptions {
  variant: string;
  url: string;
  key: string;
  size: number;
  parallel: number;
  downloads: number;
  partSize: number;
  concurrency: number;
  /** The loopback TLS server's certificate. */
  ca?: string;
}

export interface Client {
  /** Resolves with the object's length once its bytes were in memory (and are released again). */
  download(key: string): Promise<number>;
  freshLarge(): number;
}

const MiB = 1 << 20;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

function rangepool(url: string, pool: BufferPool, { partSize, concurrency, ca }: VariantOptions, transport?: Transport): Client {
  const engine = new RangeEngine({ partSize, concurrency, maxInFlight: 256 });
  const storeOptions = { endpoint: url, credentials, maxSockets: 256, transport, ...(ca ? { tls: { ca } } : {}) };
  return {
    async download(key: string) {
      const { buffer } = await getObject(`s3://bench/${key}`, { pool, engine, storeOptions });
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

/** e. The ceiling of Node's HTTP stack here (node:https over TLS): ranged GETs on node:http into buffers reused forever. */
function rawHttp(url: string, { partSize, concurrency, size, parallel, ca }: VariantOptions): Client {
  const https = url.startsWith('https:');
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 256, ca }) : new Agent({ keepAlive: true, maxSockets: 256 });
  const send = https ? httpsRequest : request;
  const free = Array.from({ length: parallel }, () => Buffer.allocUnsafeSlow(size));
  const range = (key: string, target: Buffer, start: number, end: number) =>
    new Promise<void>((resolve, reject) => {
      const req = send(`${url}/bench/${key}`, { agent, headers: { range: `bytes=${start}-${end}` } }, (res) => {
        let at = start;
        res.on('data', (chunk: Buffer) => {
          chunk.copy(target, at);
          at += chunk.length;
        });
        res.on('end', () => (at === end + 1 ? resolve() : reject(new Error(`short range ${at}/${end + 1}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    async download(key: string) {
      const target = free.pop()!;
      const parts: [number, number][] = [];
      for (let s = 0; s < size; s += partSize) parts.push([s, Math.min(size, s + partSize) - 1]);
      const worker = async () => {
        for (let p = parts.shift(); p; p = parts.shift()) await range(key, target, p[0], p[1]);
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      free.push(target);
      return size;
    },
    freshLarge: () => parallel, // allocated once, up front
  };
}

export const VARIANTS: Record<string, { label: string; make: (url: string, o: VariantOptions) => Client | Promise<Client> }> = {
  a: { label: 'a. AWS SDK GetObject + transformToByteArray', make: (url, o) => sdk(url, o) },
  b: { label: 'b. rangepool get(), fresh unpooled buffers', make: (url, o) => rangepool(url, new BufferPool({ idlePerClass: 0, maxBytes: 64 * 1024 * MiB }), o) },
  c: { label: 'c. rangepool get(), native pool (direct transport)', make: (url, o) => rangepool(url, new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o) },
  d: { label: 'd. rangepool get(), JS fallback pool', make: (url, o) => rangepool(url, new BufferPool({ implementation: 'js', maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o) },
  e: { label: 'e. raw node:http ranges into reused buffers', make: (url, o) => rawHttp(url, o) },
  f: { label: 'f. rangepool get(), native pool, SDK transport', make: (url, o) => rangepool(url, new BufferPool({ maxBytes: 64 * 1024 * MiB, idlePerClass: o.parallel }), o, 'sdk') },
};
