// What every HTTP store (s3, gs, az) shares: which transport reads ranges, and its connection pool.
import type { ConnectionOptions } from 'node:tls';
import { debuglog } from 'node:util';
import { invalidArgument, printable } from '../errors.js';
import { HttpClient } from '../http/client.js';
import { ConnectionPool } from '../http/pool.js';
import type { Transport } from './store.js';

const debug = debuglog('rangepool');

export interface HttpStoreOptions {
  /**
   * 'direct' (default): rangepool's own HTTP/1.1 reader, socket reads straight into pooled memory.
   * 'sdk': the cloud SDK's own GET (default RANGEPOOL_TRANSPORT, else direct; a proxy in HTTPS_PROXY /
   * HTTP_PROXY selects the SDK, which is where proxy agents are configured).
   */
  transport?: Transport | undefined;
  /** Connections per host; the engine's adaptive in-flight limit stays within it. Default 128 (the engine's maxInFlight). */
  maxSockets?: number | undefined;
  /** TLS settings for the direct transport (ca, cert, key, ...). NODE_EXTRA_CA_CERTS applies as everywhere in Node. */
  tls?: ConnectionOptions | undefined;
}

export function chooseTransport(opts: HttpStoreOptions, endpoint: string | undefined): Transport {
  const asked = opts.transport ?? (process.env.RANGEPOOL_TRANSPORT as Transport | undefined);
  if (asked !== undefined && asked !== 'direct' && asked !== 'sdk') throw invalidArgument(`transport must be 'direct' or 'sdk', got ${printable(String(asked))}`);
  if (asked === 'sdk') return 'sdk';
  const https = !endpoint || endpoint.startsWith('https:');
  const proxy = (https ? (process.env.HTTPS_PROXY ?? process.env.https_proxy) : undefined) ?? process.env.HTTP_PROXY ?? process.env.http_proxy;
  if (proxy) {
    debug('transport: sdk, because a proxy is configured (HTTPS_PROXY/HTTP_PROXY)');
    return 'sdk';
  }
  return 'direct';
}

/** Connections per host unless asked: as many as the engine's default in-flight limit. */
export const DEFAULT_MAX_SOCKETS = 128;

export function httpClientFor(opts: HttpStoreOptions): HttpClient {
  return new HttpClient(new ConnectionPool({ maxSockets: opts.maxSockets ?? DEFAULT_MAX_SOCKETS, tls: opts.tls }));
}
