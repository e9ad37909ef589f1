// The project's own loopback object server: in-memory, S3-style, with fault injection. Hand-written on
// node:http on purpose: no emulator injects faults or honours If-Match on S3 (s3rver does neither), and
// the benchmark needs a server that costs as little CPU as possible per byte.
// storage.ts holds the objects, faults.ts decides and performs failures, routes.ts speaks HTTP.
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Faults, type FaultRule } from './faults.js';
import { routes, type ServerStats } from './routes.js';
import { Shaper, type ShapeOptions } from './shaper.js';
import { Storage, type StoredObject } from './storage.js';

export { crc32c, crc64nvme } from './checksums.js';
export { parseRange } from './routes.js';
export type { FaultRule, ShapeOptions, StoredObject };

export interface ObjectServerOptions {
  port?: number;
  host?: string;
  /** Seed of the fault rules' random source. */
  seed?: number;
  tls?: { key: string; cert: string };
  /** A network shaped like a cloud's (per-connection rate, first-byte delay, stragglers, SlowDown): see shaper.ts. */
  shape?: ShapeOptions;
}

export type ObjectServer = Awaited<ReturnType<typeof startObjectServer>>;

export async function startObjectServer(opts: ObjectServerOptions = {}) {
  const storage = new Storage();
  const faults = new Faults(opts.seed);
  const stats: ServerStats = { requests: { GET: 0, HEAD: 0, PUT: 0, DELETE: 0 }, bytesSent: 0, faults: faults.fired, inFlight: 0, peakInFlight: 0 };
  const shaper = new Shaper(opts.shape);
  const handler = routes(storage, faults, stats, shaper);
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    stats,
    put: (bucket: string, key: string, data: Buffer) => storage.put(bucket, key, data),
    get: (bucket: string, key: string) => storage.get(bucket, key),
    delete: (bucket: string, key: string) => storage.delete(bucket, key),
    createBucket: (bucket: string) => storage.createBucket(bucket),
    setFaults: (rules: FaultRule[], seed?: number) => faults.set(rules, seed),
    faultsFired: () => faults.firedPerRule(),
    /** Shapes the network from now on ({} for none); its statistics start again. */
    setShape: (shape: ShapeOptions) => shaper.set(shape),
    shapeStats: () => ({ ...shaper.stats }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
