// A network shaped like a cloud's, in user space (the kernel here has no netem): a per-connection rate
// (one S3 connection carries ~50-100 MB/s), an aggregate cap over all connections (the host's NIC), a
// delay before each response's head (time to first byte), stragglers (a seeded few responses whose body
// or head is `factor` times slower), 503 SlowDown drawn per request, and a cap on requests served at
// once (more get 503 SlowDown at once, as S3 and nginx's limit_conn answer). One timer paces every body:
// each tick, each response may send what its token bucket holds, scaled down together when the sum would
// pass the aggregate cap, so the shaper's own cost is one write per response per tick.
import type { ServerResponse } from 'node:http';
import { prng } from '../prng.js';

export interface ShapeOptions {
  /** Bytes per second one response may carry. Default: unlimited. */
  connectionRate?: number;
  /** Bytes per second over all responses. Default: unlimited. */
  totalRate?: number;
  /** Milliseconds before each response's head. Default 0. */
  firstByteMs?: number;
  /** This share of responses is `factor` times slower: their body rate ÷ factor, or their head delay × factor. */
  stragglers?: { probability: number; factor: number; what?: 'body' | 'head' | 'both' };
  /** This share of GETs is answered 503 SlowDown (after the first-byte delay). */
  slowDown?: number;
  /** Requests served at once; one more is answered 503 SlowDown at once. */
  maxConcurrent?: number;
  /** Seed of the straggler and SlowDown draws (so a run replays). Default 1. */
  seed?: number;
}

export interface ShapeStats {
  requests: number;
  slowDowns: number;
  refused: number;
  stragglers: number;
  concurrent: number;
  peakConcurrent: number;
  bytes: number;
}

/** Milliseconds between pacing ticks: at 24 MB/s a response sends 240 KB per write. */
const TICK_MS = 10;
/** A token bucket holds at most this many ticks' worth (a burst after a late tick, no more). */
const BURST_TICKS = 2;

interface Paced {
  res: ServerResponse;
  body: Buffer;
  sent: number;
  rate: number;
  credit: number;
  blocked: boolean;
  done: () => void;
}

export class Shaper {
  readonly stats: ShapeStats = { requests: 0, slowDowns: 0, refused: 0, stragglers: 0, concurrent: 0, peakConcurrent: 0, bytes: 0 };
  private opts: ShapeOptions = {};
  private random = prng(1);
  private readonly active = new Set<Paced>();
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(opts: ShapeOptions = {}) {
    this.set(opts);
  }

  /** New shaping from now on (responses in flight keep theirs); the statistics start again. */
  set(opts: ShapeOptions): void {
    this.opts = { ...opts };
    this.random = prng(opts.seed ?? 1);
    Object.assign(this.stats, { requests: 0, slowDowns: 0, refused: 0, stragglers: 0, peakConcurrent: this.stats.concurrent, bytes: 0 });
  }

  get shaping(): boolean {
    const o = this.opts;
    return !!(o.connectionRate || o.totalRate || o.firstByteMs || o.stragglers?.probability || o.slowDown || o.maxConcurrent);
  }

  /**
   * Admits one GET: answers 503 SlowDown (with `refuse`) when over the cap or drawn, else calls `serve`
   * after the first-byte delay with the body rate this response gets. The request counts as served
   * until its response closes.
   */
  admit(res: ServerResponse, refuse: () => void, serve: (pace: (body: Buffer) => void) => void): void {
    const o = this.opts;
    this.stats.requests++;
    if (o.maxConcurrent !== undefined && this.stats.concurrent >= o.maxConcurrent) {
      this.stats.refused++;
      return refuse();
    }
    this.stats.concurrent++;
    this.stats.peakConcurrent = Math.max(this.stats.peakConcurrent, this.stats.concurrent);
    res.once('close', () => this.stats.concurrent--);
    const slow = o.stragglers && this.random() < o.stragglers.probability;
    const what = slow ? (o.stragglers!.what === 'both' || o.stragglers!.what === undefined ? (this.random() < 0.5 ? 'body' : 'head') : o.stragglers!.what) : undefined;
    if (slow) this.stats.stragglers++;
    const throttled = o.slowDown !== undefined && this.random() < o.slowDown;
    const delay = (o.firstByteMs ?? 0) * (what === 'head' ? o.stragglers!.factor : 1);
    const rate = (o.connectionRate ?? Infinity) / (what === 'body' ? o.stragglers!.factor : 1);
    const go = () => {
      if (res.destroyed) return;
      if (throttled) {
        this.stats.slowDowns++;
        return refuse();
      }
      serve((body) => this.pace(res, body, rate));
    };
    if (delay > 0) {
      const timer = setTimeout(go, delay);
      res.once('close', () => clearTimeout(timer));
    } else go();
  }

  /** Sends `body` (the head is written already) at `rate` within the aggregate cap, then ends the response. */
  private pace(res: ServerResponse, body: Buffer, rate: number): void {
    if (rate === Infinity && !this.opts.totalRate) {
      this.stats.bytes += body.length;
      res.end(body);
      return;
    }
    const p: Paced = { res, body, sent: 0, rate, credit: 0, blocked: false, done: () => this.active.delete(p) };
    res.once('close', p.done);
    res.on('drain', () => (p.blocked = false));
    this.active.add(p);
    if (!this.timer) {
      this.lastTick = performance.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
    }
  }

  private tick(): void {
    const now = performance.now();
    const dt = Math.min(now - this.lastTick, TICK_MS * BURST_TICKS) / 1000;
    this.lastTick = now;
    const wants: Array<[Paced, number]> = [];
    let sum = 0;
    for (const p of this.active) {
      p.credit = Math.min(p.credit + p.rate * dt, p.rate * (TICK_MS / 1000) * BURST_TICKS);
      if (p.blocked) continue;
      const want = Math.floor(Math.min(p.credit, p.body.length - p.sent));
      if (want > 0) wants.push([p, want]);
      sum += want;
    }
    const budget = this.opts.totalRate ? this.opts.totalRate * dt : Infinity;
    const scale = sum > budget ? budget / sum : 1;
    for (const [p, want] of wants) {
      const n = Math.max(1, Math.floor(want * scale));
      const chunk = p.body.subarray(p.sent, p.sent + n);
      p.sent += chunk.length;
      p.credit -= chunk.length;
      this.stats.bytes += chunk.length;
      if (p.sent >= p.body.length) {
        p.done();
        p.res.end(chunk);
      } else if (!p.res.write(chunk)) p.blocked = true;
    }
    if (this.active.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
