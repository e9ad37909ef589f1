// How many requests to one host are in flight: found by measurement, not configured. A cloud caps each
// connection (one S3 connection carries ~50-100 MB/s) while loopback or a CPU-bound client does best
// with few, so no fixed number suits both. Every window the governor compares the body rate per request
// (bytes ÷ time spent receiving bodies, so requests still waiting for their first byte do not count)
// with the rate it saw at fewer requests: while adding requests leaves each as fast, the link is not
// full and the limit doubles (slow start); where each request gets slower and the sum stops rising, it
// holds, and probes again now and then. 503 SlowDown or 429 (over a fifth of the recent answers) cut it
// to 70 % at most once a window (many ranges throttled at once are one signal), and it climbs back in steps (AIMD, as
// TCP does); cut in windows in a row, new requests to the host also wait out a shared backoff.
// It also watches every request for stragglers, judged against the others in flight rather than an
// absolute floor: a body far slower than its peers', or a head much later than the usual first byte,
// is abandoned so the engine asks again for the bytes it still lacks on another connection.
import { debuglog } from 'node:util';
import { RangepoolError, abortedError } from '../errors.js';
import { Limiter } from './limiter.js';
import { DEFAULT_RETRY, sleep } from './retry.js';

const debug = debuglog('rangepool');

/** Milliseconds between decisions (and straggler checks). */
export const WINDOW_MS = 50;
/** Requests in flight to a host before anything is known of it. */
export const INITIAL_LIMIT = 16;
/** Each request keeps at least this share of the per-request rate seen at fewer: the link is not full yet. */
const SCALING = 0.7;
/** Throttled answers above this share of the recent ones (16 at least) cut the limit. */
const THROTTLED_SHARE = 0.2;
/** A throttled window leaves this share of the limit. */
const DECREASE = 0.7;
/** A body is a straggler below this share of the median rate of its peers... */
const SLOW_BODY = 0.25;
/** ...measured over at least this long of its own body. */
const SLOW_BODY_MS = 150;
/**
 * A head is a straggler after this many times the median time to first byte, and at least
 * FIRST_BYTE_GRACE_MS more, once LATER_PEERS requests sent after it have had theirs (so a client too busy
 * to read, which delays every head alike, stops nothing).
 */
const SLOW_HEAD = 3;
const FIRST_BYTE_GRACE_MS = 50;
const LATER_PEERS = 4;
/** Holding: probe for more after this long, doubling after each probe that found nothing, up to the most. */
const PROBE_AFTER_MS = 2_000;
const PROBE_AFTER_MAX_MS = 30_000;
/** Times to first byte remembered. */
const TTFB_SAMPLES = 64;

/** Why a request was abandoned: it was far slower than its peers. The engine asks again at once. */
export class StragglerError extends Error {
  override readonly name = 'StragglerError';
}

/** One request's account with its host: bytes, first byte, and how it can be stopped as a straggler. */
export class Attempt {
  readonly startedAt = performance.now();
  /** The host's limit when this request was sent. */
  readonly limitAtStart: number;
  firstByteAt: number | undefined;
  bytes = 0;
  /** Bytes at the start of each of the last few windows, for a recent rate. */
  readonly marks: Array<[number, number]> = [];
  private ended = false;

  constructor(
    private readonly host: Governor | undefined,
    private readonly giveBack: () => void,
    /** Bytes this request has to receive: a straggler is judged on what is left. */
    public want: number,
    /** Stops the request as a straggler (undefined: it may not be stopped). */
    public stop: ((e: StragglerError) => void) | undefined,
  ) {
    this.limitAtStart = host?.limit ?? Infinity;
  }

  /** Whether the host has cut its limit since this request was sent (its throttling is answered already). */
  get limitCutSince(): boolean {
    return this.host !== undefined && this.host.limit < this.limitAtStart;
  }

  data(n: number): void {
    if (this.firstByteAt === undefined) {
      this.firstByteAt = performance.now();
      this.host?.firstByte(this.firstByteAt - this.startedAt, this.startedAt);
    }
    this.bytes += n;
    this.host?.received(n);
  }

  /** The request is over (`throttled`: the service said to slow down); its slot goes back. */
  end(throttled = false): void {
    if (this.ended) return;
    this.ended = true;
    this.host?.ended(this, throttled);
    this.giveBack();
  }
}

export interface GovernorStats {
  /** Requests allowed in flight now. */
  limit: number;
  inFlight: number;
  /** The most allowed so far. */
  peakLimit: number;
  /** Windows in which the service throttled (each cut the limit). */
  decreases: number;
  /** Requests abandoned as stragglers. */
  stragglers: number;
  /** Median time to first byte of the last requests, in ms. */
  firstByteMs: number;
}

/** The requests in flight to one host, and what has been learnt of it. */
export class Governor {
  /** The host's slots: the limit found so far (a FIFO, abortable). */
  private readonly slots: Limiter;
  private readonly attempts = new Set<Attempt>();
  private readonly ttfb: number[] = [];
  /** When the requests behind `ttfb` were sent. */
  private readonly sent: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  // The current window.
  private windowStart = performance.now();
  private bytes = 0;
  private bodyMs = 0;
  private busyMs = 0;
  private demand = false;
  private throttles = 0;
  // What was learnt.
  private phase: 'probing' | 'holding' | 'recovering' = 'probing';
  /** What a recovery returns to. */
  private resume: 'probing' | 'holding' = 'holding';
  /** The best rate per request seen, receiving (bandwidth-bound) and in flight (latency-bound). */
  private readonly refRate = { body: 0, busy: 0 };
  private previous: { limit: number; aggregate: number } | undefined;
  private before = 0;
  private holdSince = 0;
  private probeAfter = PROBE_AFTER_MS;
  private lastDecrease = -Infinity;
  private streak = 0;
  private pausedUntil = 0;
  /** The share of recent answers that were throttled (a moving average over about 32). */
  private throttleShare = 0;
  private answers = 0;
  private probeThrottles = 0;
  private firstBytesSinceChange = 0;
  /** Bytes, time receiving and time, summed over the windows with demand since the limit last changed. */
  private readonly measured = { bytes: 0, bodyMs: 0, busyMs: 0, ms: 0 };
  readonly stats: GovernorStats;

  constructor(
    readonly name: string,
    private readonly max: number,
    initial = INITIAL_LIMIT,
  ) {
    this.slots = new Limiter(Math.max(1, Math.min(max, initial)));
    this.stats = { limit: this.limit, inFlight: 0, peakLimit: this.limit, decreases: 0, stragglers: 0, firstByteMs: 0 };
  }

  get limit(): number {
    return this.slots.limit;
  }

  /** Downloads reading from this host now (each cuts its parts for its share of the limit). */
  downloads = 0;

  /** A download starts; the function returned says it ended. */
  join(): () => void {
    this.downloads++;
    let left = false;
    return () => {
      if (!left) this.downloads--;
      left = true;
    };
  }

  /** How long a throttled request waits before asking again: grows while the host keeps throttling, shared by all its requests. */
  throttleDelayMs(base: number, max: number): number {
    return Math.floor(Math.random() * Math.min(max, base * 2 ** this.streak));
  }

  /**
   * A slot for one request (FIFO); `engine` is the engine's own in-flight limit, taken after the host's.
   * While the host keeps throttling (its limit cut in windows in a row), new requests wait out its backoff.
   */
  async take(engine: Limiter, signal: AbortSignal, want: number, stop: ((e: StragglerError) => void) | undefined): Promise<Attempt> {
    if (signal.aborted) throw abortedError(signal);
    const pause = this.pausedUntil - performance.now();
    if (pause > 0) await sleep(pause, signal).catch(() => Promise.reject(abortedError(signal)));
    if (this.slots.holders >= this.limit || this.slots.waiting > 0) this.demand = true;
    const giveHost = await this.slots.take(signal);
    let giveEngine: () => void;
    try {
      giveEngine = await engine.take(signal);
    } catch (e) {
      giveHost();
      throw e;
    }
    const attempt = new Attempt(this, () => {
      giveEngine();
      giveHost();
      this.stats.inFlight = this.slots.holders;
    }, want, stop);
    this.attempts.add(attempt);
    this.stats.inFlight = this.slots.holders;
    this.timer ??= setInterval(() => this.tick(), WINDOW_MS).unref();
    return attempt;
  }

  firstByte(ms: number, sentAt: number): void {
    if (this.ttfb.length >= TTFB_SAMPLES) {
      this.ttfb.shift();
      this.sent.shift();
    }
    this.ttfb.push(ms);
    this.sent.push(sentAt);
    this.firstBytesSinceChange++;
  }

  received(n: number): void {
    this.bytes += n;
  }

  ended(a: Attempt, throttled: boolean): void {
    this.attempts.delete(a);
    const now = performance.now();
    if (a.firstByteAt !== undefined) this.bodyMs += now - Math.max(a.firstByteAt, this.windowStart);
    this.busyMs += now - Math.max(a.startedAt, this.windowStart);
    if (throttled) this.throttles++;
    this.answers++;
    this.throttleShare += ((throttled ? 1 : 0) - this.throttleShare) / Math.min(this.answers, 32);
  }

  private setLimit(limit: number, why: string): void {
    const next = Math.max(1, Math.min(this.max, Math.round(limit)));
    if (next === this.limit) return;
    debug('%s: %d requests in flight allowed, was %d (%s)', this.name, next, this.limit, why);
    this.slots.setLimit(next);
    this.firstBytesSinceChange = 0;
    this.resetMeasure();
    this.stats.limit = next;
    this.stats.peakLimit = Math.max(this.stats.peakLimit, next);
  }

  private tick(): void {
    const now = performance.now();
    const span = now - this.windowStart;
    // A late tick (the event loop was busy) measured the client, not the link: start a new window.
    if (span > WINDOW_MS * 3) return this.newWindow(now);
    for (const a of this.attempts) {
      if (a.firstByteAt !== undefined) this.bodyMs += now - Math.max(a.firstByteAt, this.windowStart);
      this.busyMs += now - Math.max(a.startedAt, this.windowStart);
    }
    if (this.slots.waiting > 0) this.demand = true;
    this.stats.firstByteMs = median(this.ttfb);
    this.stragglers(now);
    this.adapt(now, span);
    this.newWindow(now);
    if (this.attempts.size === 0 && this.slots.waiting === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private newWindow(now: number): void {
    this.windowStart = now;
    this.bytes = 0;
    this.bodyMs = 0;
    this.busyMs = 0;
    this.throttles = 0;
    this.demand = this.slots.waiting > 0;
  }

  private adapt(now: number, span: number): void {
    // A few 503s per hundred answers come anyway and are only retried; more than one in five of the
    // recent answers is the service saying slow down.
    if (this.throttles > 0 && this.answers >= 16 && this.throttleShare > THROTTLED_SHARE) {
      // Once per window, and not again before the requests sent at the lower limit have answered.
      if (now - this.lastDecrease < Math.max(WINDOW_MS, 2 * this.stats.firstByteMs)) return;
      this.lastDecrease = now;
      this.streak++;
      if (this.streak >= 2) this.pausedUntil = now + this.throttleDelayMs(DEFAULT_RETRY.baseDelayMs, DEFAULT_RETRY.maxDelayMs);
      this.stats.decreases++;
      this.before = this.limit; // where it throttled: recovery stops short of it
      // Where the service throttles again, more is not to be had for now: hold there, and probe later.
      // The first time while probing may be the few per hundred that come anyway: probing goes on.
      if (this.phase === 'probing') this.probeThrottles++;
      this.resume = this.phase === 'probing' && this.probeThrottles <= 1 ? 'probing' : 'holding';
      this.phase = 'recovering';
      // Many refused at once say how many too many (a server that serves 6 and refuses 10 of 16 is at 6),
      // down to a quarter in one window.
      const cut = Math.min(Math.floor(this.limit * DECREASE), this.limit - this.throttles);
      this.setLimit(Math.max(Math.ceil(this.limit / 4), cut), `${this.throttles} throttled`);
      return;
    }
    this.streak = 0;
    // Learn only from windows where the limit held requests back (a window without demand starts the
    // measure again), summed since the limit last changed, once half as many first bytes as the limit
    // have come. Requests that have received for 25 ms each on average are judged on their body rate (a
    // first read that brings a burst the network had buffered then weighs little); small ones, whose
    // bodies take no time, on bytes per ms in flight, their wait for the first byte included.
    if (!this.demand) return this.resetMeasure();
    const m = this.measured;
    m.bytes += this.bytes;
    m.bodyMs += this.bodyMs;
    m.busyMs += this.busyMs;
    m.ms += span;
    if (this.firstBytesSinceChange < this.limit / 2) return;
    const kind = m.bodyMs >= 25 * this.limit ? 'body' : m.busyMs >= 100 * this.limit ? 'busy' : undefined;
    if (kind === undefined) return;
    const rate = m.bytes / (kind === 'body' ? m.bodyMs : m.busyMs);
    const aggregate = m.bytes / m.ms;
    this.resetMeasure();
    switch (this.phase) {
      case 'recovering':
        // Back to just under where the service said slow down (TCP's sawtooth, a little lower each time).
        if (this.limit >= Math.floor(this.before * 0.9)) {
          this.before = this.limit;
          this.phase = this.resume;
          this.holdSince = now;
          this.previous = undefined; // measured before the throttling: start again from here
        } else this.setLimit(Math.min(Math.floor(this.before * 0.9), this.limit + Math.max(1, Math.ceil(this.before / 8))), 'recovering');
        return;
      case 'holding':
        if (now - this.holdSince < this.probeAfter) return;
        this.phase = 'probing';
        this.probeThrottles = 0;
        this.previous = { limit: this.limit, aggregate };
        this.setLimit(this.limit * 1.5, 'probing for more');
        return;
      case 'probing':
        if (this.previous === undefined || rate >= SCALING * this.refRate[kind]) {
          // Each request as fast as with fewer: the link is not full.
          if (this.previous !== undefined) this.probeAfter = PROBE_AFTER_MS;
          this.refRate[kind] = Math.max(this.refRate[kind], rate);
          this.previous = { limit: this.limit, aggregate };
          if (this.limit >= this.max) this.hold(now);
          else this.setLimit(this.limit * 2, `${Math.round(rate)} B/ms per request`);
          return;
        }
        // Each request got slower, but the sum still rose (or the first reading was a burst): go on.
        if (aggregate >= 1.1 * this.previous.aggregate) {
          this.refRate[kind] = rate;
          this.previous = { limit: this.limit, aggregate };
          if (this.limit >= this.max) this.hold(now);
          else this.setLimit(this.limit * 2, `the sum rose to ${Math.round(aggregate)} B/ms`);
          return;
        }
        // The sum no longer rises: back to the limit before, and hold.
        this.setLimit(this.previous.limit, `no gain: ${Math.round(aggregate)} B/ms, was ${Math.round(this.previous.aggregate)}`);
        this.probeAfter = Math.min(PROBE_AFTER_MAX_MS, this.probeAfter * 2);
        this.hold(now);
        return;
    }
  }

  private resetMeasure(): void {
    Object.assign(this.measured, { bytes: 0, bodyMs: 0, busyMs: 0, ms: 0 });
  }

  private hold(now: number): void {
    this.phase = 'holding';
    this.holdSince = now;
  }

  /** Stops requests far slower than their peers, so their remaining bytes are asked for again elsewhere. */
  private stragglers(now: number): void {
    const rates: number[] = [];
    const recent = new Map<Attempt, number>();
    for (const a of this.attempts) {
      a.marks.push([now, a.bytes]);
      while (a.marks.length > 2 && now - a.marks[1]![0] >= SLOW_BODY_MS) a.marks.shift();
      const [since, bytes] = a.marks[0]!;
      if (a.firstByteAt === undefined || now - Math.max(since, a.firstByteAt) < SLOW_BODY_MS) continue;
      const rate = (a.bytes - bytes) / (now - Math.max(since, a.firstByteAt));
      recent.set(a, rate);
      rates.push(rate);
    }
    const firstByte = this.stats.firstByteMs;
    const peerRate = rates.length >= 3 ? median(rates) : 0;
    for (const a of this.attempts) {
      if (!a.stop) continue;
      if (a.firstByteAt === undefined) {
        // A head far later than the usual first byte (S3: retry the slowest requests).
        const later = this.sent.reduce((n, t) => (t > a.startedAt ? n + 1 : n), 0);
        if (later >= LATER_PEERS && now - a.startedAt > SLOW_HEAD * firstByte + FIRST_BYTE_GRACE_MS) {
          this.stop(a, `no first byte after ${Math.round(now - a.startedAt)} ms (median ${Math.round(firstByte)} ms)`);
        }
        continue;
      }
      const rate = recent.get(a);
      if (rate === undefined || peerRate === 0 || rate >= SLOW_BODY * peerRate) continue;
      // Only where asking again wins: the rest at the peers' rate, after a first byte, well before this one would end.
      const left = Math.max(0, a.want - a.bytes);
      if (left / Math.max(rate, 1e-3) > 2 * (left / peerRate + firstByte + WINDOW_MS)) {
        this.stop(a, `${Math.round(rate)} B/ms against a median of ${Math.round(peerRate)} B/ms`);
      }
    }
  }

  private stop(a: Attempt, why: string): void {
    this.stats.stragglers++;
    this.attempts.delete(a); // stopped once
    debug('%s: a straggler, asked again elsewhere: %s', this.name, why);
    a.stop!(new StragglerError(why));
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

/** True for what says the service is throttling. */
export function isThrottle(e: unknown): boolean {
  return e instanceof RangepoolError && e.throttled;
}
