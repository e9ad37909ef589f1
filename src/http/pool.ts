// Keep-alive connections per origin, at most `maxSockets` each (open or being opened); callers beyond
// that wait in FIFO order. Idle connections are unref'd (they never keep the process alive) and closed
// after `idleTimeoutMs`. A connection goes back only if its last response was read exactly to its end.
import type { ConnectionOptions } from 'node:tls';
import { Connection, type Origin } from './connection.js';

export interface ConnectionPoolOptions {
  /** Connections per origin. Default 128 (the engine's in-flight limit). */
  maxSockets?: number;
  /** Idle connections close after this long. Default 15 000 ms (S3 and Azure drop idle ones after ~20 s). */
  idleTimeoutMs?: number;
  /** For https: origins (ca, cert, rejectUnauthorized...). Verification stays on unless you turn it off. */
  tls?: ConnectionOptions;
}

interface OriginPool {
  idle: Connection[];
  open: number;
  waiters: Array<{ grant: (c: Connection) => void; fail: (e: unknown) => void }>;
}

export class ConnectionPool {
  readonly maxSockets: number;
  readonly idleTimeoutMs: number;
  private readonly origins = new Map<string, OriginPool>();

  constructor(private readonly opts: ConnectionPoolOptions = {}) {
    this.maxSockets = opts.maxSockets ?? 128;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 15_000;
  }

  /** The TLS settings of its connections. */
  get tls(): ConnectionOptions | undefined {
    return this.opts.tls;
  }

  /** A connection to origin: an idle one if there is one, else a new one, else the next one given back. */
  acquire(origin: Origin, signal?: AbortSignal): Promise<Connection> {
    const pool = this.pool(origin);
    for (let c = pool.idle.pop(); c; c = pool.idle.pop()) {
      if (c.alive) return Promise.resolve(this.checkout(c));
      pool.open--;
    }
    if (pool.open < this.maxSockets) {
      pool.open++;
      return Promise.resolve(this.create(origin, pool));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: (c: Connection) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(c);
        },
        fail: reject,
      };
      const onAbort = () => {
        pool.waiters.splice(pool.waiters.indexOf(waiter), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pool.waiters.push(waiter);
    });
  }

  /** Gives a connection back: kept if its last response ended cleanly and the server allows it, else closed. */
  release(c: Connection): void {
    const pool = this.pool(c.origin);
    if (!c.reusable) {
      c.destroy();
      pool.open--;
      const next = pool.waiters.shift();
      if (next) {
        pool.open++;
        next.grant(this.create(c.origin, pool));
      }
      return;
    }
    c.reused = true;
    const next = pool.waiters.shift();
    if (next) return next.grant(c);
    c.socket.setTimeout(this.idleTimeoutMs);
    c.socket.unref();
    pool.idle.push(c);
  }

  /** Closes every idle connection (busy ones close when given back). */
  closeIdle(): void {
    for (const pool of this.origins.values()) {
      for (const c of pool.idle.splice(0)) {
        c.destroy();
        pool.open--;
      }
    }
  }

  private pool(origin: Origin): OriginPool {
    const key = `${origin.protocol}//${origin.hostname}:${origin.port}`;
    let pool = this.origins.get(key);
    if (!pool) this.origins.set(key, (pool = { idle: [], open: 0, waiters: [] }));
    return pool;
  }

  private create(origin: Origin, pool: OriginPool): Connection {
    const c = new Connection(origin, this.opts.tls);
    c.socket.once('close', () => {
      // An idle connection the server closed (or that timed out) leaves the pool here.
      const i = pool.idle.indexOf(c);
      if (i >= 0) {
        pool.idle.splice(i, 1);
        pool.open--;
      }
    });
    c.socket.on('timeout', () => c.destroy());
    return c;
  }

  private checkout(c: Connection): Connection {
    c.socket.setTimeout(0);
    c.socket.ref();
    return c;
  }
}
