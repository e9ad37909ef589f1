// GET requests over the connection pool. A request on a kept-alive connection that the server closed
// just as it was written goes again on a fresh one, without counting as a failure (as browsers do).
import { ConnectionError, type Landing, type Origin } from './connection.js';
import type { TlsPath } from './socket-contract.js';
import { requestHead, type ResponseHead } from './head.js';
import { ConnectionPool } from './pool.js';
import type { RateLimit } from '../engine/rate-limit.js';

export interface HttpRequest {
  url: URL;
  headers?: Record<string, string>;
}

export interface HttpResponse extends ResponseHead {
  /** Over https:, how the body is decrypted: in the addon ('native') or by Node's TLS ('node'). */
  tls?: TlsPath | undefined;
  /** Reads the whole body into dest (straight from the socket; a landing's blocks only on this thread); resolves with its length. The connection then goes back. */
  readBody(dest: Uint8Array | Landing, opts?: { signal?: AbortSignal; onData?: (n: number) => void; limit?: RateLimit | undefined }): Promise<number>;
  /** At most `limit` bytes of the body as text (the rest is never read: the connection is dropped instead). */
  readText(limit: number, signal?: AbortSignal): Promise<string>;
  /** Closes the connection without reading the body (on a range thread: resolves once it has stopped). */
  drop(): void | Promise<void>;
}

export function originOf(url: URL): Origin {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${url.protocol}`);
  return { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
}

/** What a store needs of an HTTP client: one GET (the range threads offer the same). */
export type HttpGet = Pick<HttpClient, 'get'>;

export class HttpClient {
  constructor(readonly pool = new ConnectionPool()) {}

  /**
   * Sends a GET; resolves with the response head. `into` says where a 2xx body will be read (a range
   * thread starts reading it there at once; here, where readBody() follows at once, it changes nothing).
   */
  async get(req: HttpRequest, signal?: AbortSignal, into?: Uint8Array, _limit?: RateLimit): Promise<HttpResponse> {
    const origin = originOf(req.url);
    const head = requestHead('GET', `${req.url.pathname}${req.url.search}`, { host: req.url.host, ...req.headers });
    for (let stale = 0; ; stale++) {
      const c = await this.pool.acquire(origin, signal);
      let res: ResponseHead;
      try {
        res = await c.send(head, signal);
      } catch (e) {
        this.pool.release(c);
        if (e instanceof ConnectionError && e.kind === 'stale' && stale <= this.pool.maxSockets) continue;
        throw e;
      }
      let given = false;
      const giveBack = () => {
        if (!given) this.pool.release(c);
        given = true;
      };
      return {
        ...res,
        tls: c.tlsPath,
        readBody: (dest, opts) => c.readBody(dest, opts).finally(giveBack),
        readText: async (limit, sig) => {
          const buf = Buffer.allocUnsafe(limit);
          const n = await c.readBody(buf, { signal: sig, truncate: true }).finally(giveBack);
          return buf.toString('utf8', 0, n);
        },
        drop: () => {
          c.destroy();
          giveBack();
        },
      };
    }
  }
}
