// One download: its buffer, parts, running checksums, stats, stop signal and progress. When the object's
// meta is not known yet, the first part's response supplies it (a store's readFirst): the buffer is
// acquired once that response's head is read, and the other parts start at once, pinned to what it said.
import { setMaxListeners } from 'node:events';
import { RangepoolError, abortedError, invalidArgument, isRangepoolError, printable } from '../errors.js';
import type { Pool } from '../pool/types.js';
import type { ObjectMeta, Store } from '../stores/store.js';
import type { Location } from '../uri.js';
import { PartCrc, checksumFor, checksumMatches, type Checksum } from './checksum.js';
import type { DownloadOptions, DownloadResult, DownloadStats, EngineContext } from './types.js';
import { canPinRanges } from './pin.js';
import { planParts } from './plan.js';
import { backoffMs, isRetryable, logRetry, sleep, untilAborted } from './retry.js';
import { Attempt, StragglerError, isThrottle, median, type Governor } from './governor.js';
import type { Landing } from '../http/connection.js';
import type { RangeThreads } from '../threads/range-threads.js';
import { Ring, ringShape } from './ring.js';
import type { TlsPath } from '../http/socket-contract.js';

/** Range threads read a direct store's ranges into views of a native pool's blocks; other reads run on this thread. */
export function threadsFor(engine: EngineContext, store: Store, pool: Pool, into?: Buffer): RangeThreads | undefined {
  return store.transport === 'direct' && pool.native && !into ? engine.threads : undefined;
}

/** Whether a sink's requests land in rings of small blocks (the store reads on this thread's own reader) or in a block of their size. */
export function landsInRings(engine: EngineContext, store: Store, pool: Pool): boolean {
  return store.readRangeLanding !== undefined && !threadsFor(engine, store, pool);
}

/** One range of the download: bytes [start, end] of the object, written into `target`. */
interface PartState {
  start: number;
  end: number;
  length: number;
  target: Buffer;
  crc: PartCrc;
}

/** A part's target before its request has a block of its own (sink mode: no buffer of the whole span). */
const NO_TARGET = Buffer.alloc(0);

/**
 * Sink mode without rings: bytes of a part handed over at once, at least (fewer at its end). Large enough
 * that a write costs little per byte, small enough that its bytes are still in the CPU's cache when they
 * are copied out; RANGEPOOL_SINK_BATCH overrides it for measurements.
 */
const SINK_BATCH = Number(process.env.RANGEPOOL_SINK_BATCH) || 1024 * 1024;

/** Requests in flight per download under a bandwidth cap: one per 512 KiB/s of it, 1 to 64. */
const requestsUnder = (bytesPerSecond: number) => Math.max(1, Math.min(64, Math.floor(bytesPerSecond / (512 * 1024))));

/** A range is asked for again as a straggler at most this often (then only stalls and the rate floor apply). */
const STRAGGLER_TRIES = 2;

/** Thrown through the first response's target callback: read the whole span in one request instead. */
class ReadWhole extends Error {
  constructor(readonly part: PartState) {
    super('read the whole span in one request');
  }
}

export class Download {
  readonly stats: DownloadStats;
  private meta: ObjectMeta | undefined;
  private buffer: Buffer | undefined;
  /** Every range asked for, in any order (sorted by start before their CRCs combine). */
  private parts: PartState[] = [];
  /**
   * Bytes not asked for yet, each with its place in the buffer: whole parts (planned), or spans that
   * parts are cut from as slots open (`guided`), and what stragglers left (`urgent`: cut small).
   */
  private readonly pending: Array<PartState & { guided?: boolean; urgent?: boolean; tries?: number }> = [];
  private scheduler: Promise<void> | undefined;
  /** Whether ranges may be asked for apart (pinned to one version): a straggler's rest can then go elsewhere. */
  private splittable = false;
  /** Requests of this download in flight, and a wake-up for the scheduler when one ends. */
  private running = 0;
  private wake: (() => void) | undefined;
  /** The host's shared limit (adaptive concurrency); undefined: a fixed `concurrency` per object. */
  private readonly host: Governor | undefined;
  private readonly firstBytes: number[] = [];
  /** A response's TLS path: 'node' once any body took Node's. */
  private readonly onTls = (path: TlsPath): void => {
    if (this.stats.tls !== 'node') this.stats.tls = path;
  };
  /** Aborted by the caller's signal or the first failure; every range, wait and sleep listens to it. */
  private readonly stop = new AbortController();
  private verify: Checksum | false = false;
  /** What each part's running CRC computes: the checksum verified, or the one asked for (opts.crc). */
  private crcKind: Checksum | false = false;
  private received = 0;
  private userError: { error: unknown } | undefined;
  private length = 0;
  private readonly offset: number;
  private readonly threads: RangeThreads | undefined;
  /** Sink mode: each request lands in a ring of small blocks of this shape (see ring.ts), not in a block of its range's size. */
  private readonly rings: { block: number; bytes: number } | undefined;

  constructor(
    private readonly engine: EngineContext,
    private readonly store: Store,
    private readonly loc: Location,
    private readonly pool: Pool,
    private readonly opts: DownloadOptions & { partSize: number; concurrency: number | undefined; guided: boolean },
    meta: ObjectMeta | undefined,
  ) {
    this.meta = meta;
    this.offset = opts.offset ?? 0;
    setMaxListeners(0, this.stop.signal); // one listener per range in flight or waiting: many, by design
    this.threads = threadsFor(engine, store, pool, opts.into);
    this.rings = opts.sink !== undefined && landsInRings(engine, store, pool) ? ringShape() : undefined;
    this.host = opts.concurrency === undefined ? engine.governor(store, loc) : undefined;
    this.stats = {
      bytes: 0,
      ranges: 0,
      requests: 0,
      retries: 0,
      elapsedMs: 0,
      bytesPerSecond: 0,
      verified: false,
      transport: store.transport,
      threads: this.threads?.size ?? 0,
      connections: 0,
      stragglers: 0,
      throttled: 0,
      firstByteMs: 0,
    };
  }

  async run(): Promise<DownloadResult> {
    const { signal } = this.opts;
    const uri = this.loc.uri;
    if (signal?.aborted) throw abortedError(signal, uri);
    const started = performance.now();
    const onCallerAbort = () => this.fail(abortedError(signal!, uri));
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const leave = this.host?.join();
    try {
      // Threads that are starting (the first download, or one that replaces a thread that died) take a
      // few hundred ms: an abort does not wait for them.
      if (this.threads) await untilAborted(this.threads.ready(), this.stop.signal);
      if (!this.meta && (!this.store.readFirst || this.opts.verify || this.opts.length === 0)) {
        this.meta = await this.engine.stat(this.store, this.loc, this.stop.signal);
      }
      // With meta known, every part is planned now; else the first part's response says what the object is.
      const main = this.meta ? this.begin(this.meta) : this.counted(this.fetchPart(undefined));
      await main.catch((e) => this.fail(e));
      await this.scheduler;
      // Every range has stopped writing by now: only then may the buffer go back.
      if (this.stop.signal.aborted) throw this.stop.signal.reason;
      this.parts.sort((a, b) => a.start - b.start); // CRCs combine in the object's order
      if (this.verify && !checksumMatches(this.verify, this.meta!, this.buffer!, this.parts)) {
        throw new RangepoolError('IntegrityError', `the object's ${this.verify} does not match the bytes received`, { uri });
      }
      this.stats.verified = this.verify;
    } catch (e) {
      if (this.buffer && this.buffer !== this.opts.into) this.pool.release(this.buffer);
      if (this.userError) throw this.userError.error;
      throw e instanceof RangepoolError ? e : new RangepoolError('Internal', `unexpected error: ${(e as Error)?.message}`, { uri, cause: e });
    } finally {
      leave?.();
      signal?.removeEventListener('abort', onCallerAbort);
    }
    this.stats.elapsedMs = performance.now() - started;
    this.stats.firstByteMs = Math.round(median(this.firstBytes));
    this.stats.bytesPerSecond = this.stats.elapsedMs > 0 ? (this.length / this.stats.elapsedMs) * 1000 : 0;
    const asked = this.opts.crc !== undefined && this.crcKind === this.opts.crc ? this.crcKind : undefined;
    const crc = asked === 'crc32c' ? PartCrc.combine32(this.parts) : asked === 'crc64nvme' ? PartCrc.combine64(this.parts) : undefined;
    return { buffer: this.buffer ?? NO_TARGET, meta: this.meta!, stats: this.stats, ...(crc !== undefined ? { crc } : {}) };
  }

  /** The first failure stops every range. */
  private fail(e: unknown): void {
    if (!this.stop.signal.aborted) this.stop.abort(e);
  }

  /**
   * Meta is known: check the span asked for, acquire the buffer, plan the parts and start them. With
   * `first`, the bytes [offset, offset + first.length) are already on their way in the first response.
   */
  private async begin(meta: ObjectMeta, first?: { start: number; length: number }): Promise<PartState | undefined> {
    const uri = this.loc.uri;
    this.meta = meta;
    const { offset } = this;
    if (this.opts.ifMatch !== undefined && meta.etag !== this.opts.ifMatch) {
      throw new RangepoolError('PreconditionFailed', `ETag is ${printable(meta.etag ?? 'missing')}, not ${this.opts.ifMatch}`, { uri });
    }
    const { spans } = this.opts;
    if (spans) return this.beginSpans(spans, meta);
    if (offset > meta.size) throw invalidArgument(`offset ${offset} is past the end of the object (${meta.size} bytes)`, uri);
    // A first response only (stream()'s first chunk): its span is what the server sent, more than asked
    // where it ignores ranges and sent the whole object.
    const asked = this.opts.firstResponseOnly && first?.start === offset ? Math.max(first.length, this.opts.length ?? 0) : this.opts.length;
    // Clamped at the end (--range as curl -r; stream()'s first chunk, which of an empty object is empty).
    const clamp = (this.opts.clampToSize && offset < meta.size) || (this.opts.firstResponseOnly && offset <= meta.size);
    const length = asked === undefined || clamp ? Math.min(asked ?? Infinity, meta.size - offset) : asked;
    if (offset + length > meta.size) throw invalidArgument(`range ${offset}+${length} runs past the end of the object (${meta.size} bytes)`, uri);
    if (first && first.start === 0 && offset === 0 && first.length === meta.size && first.length > length) {
      // The whole object to a request for its first bytes: the server's limit, not a fault of this response.
      throw new RangepoolError('Unsupported', `the server ignores Range requests (HTTP 200, the whole object, to a request for ${length} bytes): a part of the object cannot be read from it; get the whole object`, { uri });
    }
    if (first && (first.start !== offset || first.length > length)) {
      throw new RangepoolError('IntegrityError', `the server sent bytes ${first.start}-${first.start + first.length - 1}, more than the ${length} asked for from ${offset}: it ignores ranges`, { uri });
    }
    // Nothing proves that two responses come from one version: the whole span in one request instead.
    const oneRequest = length - (first?.length ?? 0) > 0 && !canPinRanges(meta, this.store);
    this.verify = this.checksum(meta, offset === 0 && length === meta.size);
    this.crcKind = this.verify || (this.opts.crc ?? false);
    this.length = this.stats.bytes = length;
    const buffer = this.opts.sink ? NO_TARGET : await this.acquire(length);
    if (this.opts.sink) this.callerSays(() => this.opts.sink!.start(meta, offset, length));
    const done = first?.length ?? 0;
    const state = (start: number, len: number): PartState => {
      const at = start - offset;
      return { start, end: start + len - 1, length: len, target: buffer.subarray(at, at + len), crc: new PartCrc(this.crcKind) };
    };
    if (oneRequest) {
      this.parts = [state(offset, length)];
      this.stats.ranges = 1;
      // The first response holds only a part of the span: it is dropped, and its attempt reads the whole.
      if (first) throw new ReadWhole(this.parts[0]!);
      this.start([this.parts[0]!]);
      return undefined;
    }
    this.splittable = true;
    const head = first ? state(offset, done) : undefined;
    if (head && done > 0) this.parts.push(head);
    const rest = length - done;
    if (!this.opts.guided || rest < this.engine.options.singleRequestBelow) {
      // Planned now: fixed parts (a partSize asked for), or a span small enough for one request.
      const planned = planParts(offset + done, rest, this.partSize(), this.engine.options.singleRequestBelow).map((p) => state(p.start, p.end - p.start + 1));
      this.parts.push(...planned);
      this.start(planned);
    } else {
      this.pending.push({ ...state(offset + done, rest), guided: true });
      this.start([]);
    }
    return head;
  }

  /** Several spans of a pinnable version (getRanges), each at its place in one buffer; meta was known. */
  private async beginSpans(spans: NonNullable<DownloadOptions['spans']>, meta: ObjectMeta): Promise<undefined> {
    const uri = this.loc.uri;
    if (!canPinRanges(meta, this.store)) throw new RangepoolError('Internal', 'spans of an object without a strong validator must be read as one', { uri });
    for (const s of spans) if (s.start + s.length > meta.size) throw invalidArgument(`range ${s.start}+${s.length} runs past the end of the object (${meta.size} bytes)`, uri);
    this.verify = this.checksum(meta, false);
    this.crcKind = this.verify || (this.opts.crc ?? false);
    this.length = this.stats.bytes = spans.reduce((n, s) => n + s.length, 0);
    const buffer = this.opts.sink ? NO_TARGET : await this.acquire(spans.reduce((n, s) => Math.max(n, s.at + s.length), 0));
    if (this.opts.sink) this.callerSays(() => this.opts.sink!.start(meta, 0, meta.size));
    const size = this.partSize();
    this.parts = spans.flatMap((s) =>
      planParts(s.start, s.length, size, this.engine.options.singleRequestBelow).map((p) => {
        const at = s.at + p.offset;
        const length = p.end - p.start + 1;
        return { start: p.start, end: p.end, length, target: buffer.subarray(at, at + length), crc: new PartCrc(this.crcKind) };
      }),
    );
    this.splittable = true;
    this.start(this.parts);
    return undefined;
  }

  /** The checksum to verify; in sink mode not an MD5, which needs the whole span in order (the caller checks it). */
  private checksum(meta: ObjectMeta, whole: boolean): Checksum | false {
    const kind = checksumFor(this.opts.verify, meta, whole, this.loc.uri);
    return this.opts.sink && kind === 'md5' ? false : kind;
  }

  /** The download's buffer: the caller's (opts.into) or a pooled one. */
  private async acquire(length: number): Promise<Buffer> {
    const { into } = this.opts;
    if (into && into.length !== length) throw invalidArgument(`the target holds ${into.length} bytes, not the ${length} asked for`, this.loc.uri);
    this.buffer =
      into ??
      (await this.pool.acquire(length, { signal: this.stop.signal }).catch((e) => {
        throw e instanceof RangepoolError ? new RangepoolError(e.code, e.message, { uri: this.loc.uri, cause: e.cause }) : e;
      }));
    return this.buffer;
  }

  /** Part size, rounded up to the store's alignment. */
  private partSize(): number {
    const align = this.store.alignment ?? 1;
    return Math.ceil(this.opts.partSize / align) * align;
  }

  /** Queues `parts` (planned whole, already in this.parts) and starts the scheduler that runs what is pending. */
  private start(parts: PartState[]): void {
    this.pending.push(...parts);
    this.stats.ranges = this.parts.length;
    this.scheduler = this.schedule();
  }

  /**
   * Starts a request whenever a slot opens (the host's adaptive limit, or the object's fixed concurrency,
   * and the engine's in-flight limit), until every byte is asked for; resolves when all have ended.
   */
  private async schedule(): Promise<void> {
    const { signal } = this.stop;
    const spawned: Array<Promise<void>> = [];
    try {
      // Until nothing is pending and nothing runs (a straggler's rest comes back to pending meanwhile).
      while (!signal.aborted && (this.pending.length > 0 || this.running > 0)) {
        const fixed = this.opts.concurrency;
        if (this.pending.length === 0 || (fixed !== undefined && this.running >= fixed)) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        // Sink mode: room for one more ring (or block of at most partSize), before a slot is taken (time waiting here is not the host's).
        // Under a bandwidth cap, no more requests than the cap gives each a useful share of (more would only wait).
        const window = this.opts.sink?.window;
        const capped = this.engine.rate && this.running >= requestsUnder(this.engine.rate.bytesPerSecond);
        const perRequest = this.rings?.bytes ?? this.partSize();
        if (this.running > 0 && (capped || (window !== undefined && this.running >= Math.floor(window / perRequest)))) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        const slot = await this.take(signal, Math.min(this.pending[0]!.length, this.opts.partSize), undefined);
        const tries = this.pending[0]!.tries ?? 0;
        const part = this.cutNext();
        spawned.push(this.counted(this.fetchPart(part, slot, tries)).catch((e) => this.fail(e)));
      }
    } catch (e) {
      this.fail(e);
    }
    await Promise.allSettled(spawned);
  }

  /**
   * The part keeps its first `written` bytes; the rest goes back to pending, first: cut small after a
   * straggler (`urgent`: the sooner the better), or as any span after throttling (more requests are not
   * what a throttled host needs, but a large range restarted late should not set the pace either).
   */
  private requeue(part: PartState, written: number, tries: number, urgent: boolean): void {
    // Sink mode: the rest gets blocks of its own (this part's goes back when its request ends).
    const rest = this.opts.sink ? NO_TARGET : part.target.subarray(written);
    this.pending.unshift({ start: part.start + written, end: part.end, length: part.length - written, target: rest, crc: new PartCrc(this.crcKind), urgent, guided: !urgent, tries });
    if (written === 0) this.parts.splice(this.parts.indexOf(part), 1);
    else Object.assign(part, { end: part.start + written - 1, length: written, target: part.target.subarray(0, written) });
    this.wakeScheduler();
  }

  private wakeScheduler(): void {
    this.wake?.();
    this.wake = undefined;
  }

  /** Counts a request of this download in flight while `p` runs (the most at once is stats.connections). */
  private async counted(p: Promise<void>): Promise<void> {
    this.running++;
    this.stats.connections = Math.max(this.stats.connections, this.running);
    try {
      await p;
    } finally {
      this.running--;
      this.wakeScheduler();
    }
  }

  /**
   * The next part of the span: guided self-scheduling, an equal share of the bytes still to come for each
   * request this download may run (its share of the host's limit), so parts are large while much is left and
   * shrink towards the end, where many requests finish together instead of one large last part setting
   * the pace. Between partSize / 4 (below that, the wait for each response's first byte costs more than
   * the tail saves) and partSize.
   */
  private cutNext(): PartState {
    const from = this.pending[0]!;
    if (!from.guided && !from.urgent) return this.pending.shift()!; // a planned part
    let length = from.length;
    {
      const align = this.store.alignment ?? 1;
      const max = this.partSize();
      const min = Math.min(max, Math.ceil(Math.max(max / 4, 1) / align) * align);
      const slots = this.host ? this.host.limit / this.host.downloads : Math.min(this.opts.concurrency!, this.engine.options.maxInFlight);
      // What is still to come, the ranges in flight included: equal parts for requests that start together.
      const share = Math.ceil((this.length - this.received) / Math.max(1, slots) / align) * align;
      const size = from.urgent ? min : Math.max(min, Math.min(max, share));
      // A remainder smaller than the smallest part goes with this one.
      if (from.length - size >= min) length = size;
    }
    const part: PartState = { start: from.start, end: from.start + length - 1, length, target: from.target.subarray(0, length), crc: new PartCrc(this.crcKind) };
    if (length === from.length) this.pending.shift();
    else Object.assign(from, { start: from.start + length, length: from.length - length, target: from.target.subarray(length) });
    this.parts.push(part);
    this.stats.ranges = this.parts.length;
    return part;
  }

  /** A slot for one request: the host's (adaptive) or the engine's alone (fixed concurrency). */
  private async take(signal: AbortSignal, want: number, stop: ((e: StragglerError) => void) | undefined): Promise<Attempt> {
    if (this.host) return this.host.take(this.engine.limiter, signal, want, stop);
    return new Attempt(undefined, await this.engine.limiter.take(signal), want, undefined);
  }

  /** `n` more bytes landed: counted, and the caller told. */
  private landed(n: number): void {
    // A range thread may report bytes after the download stopped; the caller hears nothing after that.
    if (this.stop.signal.aborted) return;
    this.received += n;
    const onProgress = this.opts.onProgress;
    if (onProgress) this.callerSays(() => onProgress({ bytes: this.received, total: this.length }));
  }

  /**
   * Sink mode: bytes of a part to the sink, at their place in the object; resolves once written. What the
   * sink fails with stops the download and reaches the caller as it is (never retried).
   */
  private deliver(at: number, bytes: Buffer): Promise<void> {
    if (this.userError) return Promise.resolve(); // the sink failed: it hears no more
    let written: Promise<void>;
    try {
      written = this.opts.sink!.write(at, bytes);
    } catch (e) {
      written = Promise.reject(e);
    }
    return written.catch((e) => {
      this.userError ??= { error: e };
      this.fail(e);
    });
  }

  /** Runs the caller's callback; what it throws stops the download and reaches the caller as it is. */
  private callerSays(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      // The caller's own error: it stops the download and reaches the caller as it is, never retried.
      this.userError = { error: e };
      this.fail(e);
      throw e;
    }
  }

  /**
   * One part, with retries that resume from the last byte received; `part` undefined is the first part
   * of an object whose meta comes with it. A part whose bytes have all arrived is complete, whatever
   * happened to its connection afterwards.
   */
  private async fetchPart(part: PartState | undefined, slot?: Attempt, tries = 0): Promise<void> {
    const signal = this.stop.signal;
    const { retry, stallTimeoutMs, minBytesPerSecond } = this.engine.options;
    const uri = this.loc.uri;
    let written = 0;
    let delay = 0;
    let straggled = 0;
    let throttledNow = false;
    let requeueAfter = false;
    /**
     * Sink mode: the part's own memory (a ring, or a block of its size), back to the pool when the part
     * ends: its store read has ended and every write from it too.
     */
    let block: Buffer | undefined;
    let ring: Ring | undefined;
    /** Sink mode without a ring: bytes of the part handed to the sink so far (in batches of SINK_BATCH, and the rest at its end), and those writes in flight. */
    let sunk = 0;
    const writes = new Set<Promise<void>>();
    const sink = () => {
      // After an abort too (what landed is still this version's bytes, and a resume keeps it), not after the sink's own failure.
      if (!this.opts.sink || ring || written === sunk || this.userError) return;
      const w = this.deliver(part!.start + sunk, part!.target.subarray(sunk, written)).then(() => void writes.delete(w));
      writes.add(w);
      sunk = written;
    };
    /** Every byte landed so far handed to the sink, and every write of the part ended. */
    const settled = async () => {
      sink();
      ring?.flush();
      await (ring ? ring.drain() : Promise.all(writes));
    };
    /** Sink mode: the part's memory, and where its response lands. */
    const memoryFor = async (p: PartState): Promise<Buffer | Landing> => {
      if (!this.rings) return (p.target = block = await this.block(p.length));
      block = await this.block(Math.min(this.rings.bytes, p.length));
      ring = new Ring(block, this.rings.block, p.start + written, (at, bytes) => this.deliver(at, bytes), this.opts.sink!.align);
      return ring.landing(p.length - written);
    };
    try {
      for (let attempt = tries; ; attempt++) {
        const attemptAbort = new AbortController();
        // A straggler is stopped (once the range may be asked for again) and asked for at once elsewhere.
        // At most 2 + one per 8 parts' worth of the span is asked for again: a bound when everything is slow.
        const mayStop = () => this.host !== undefined && this.splittable && straggled < STRAGGLER_TRIES && this.stats.stragglers < 2 + this.length / this.opts.partSize / 8;
        const stop = (e: StragglerError) => attemptAbort.abort(e);
        const stopper = mayStop() ? stop : undefined;
        const want = () => (part ? part.length - written : Math.min(this.opts.partSize, this.opts.length ?? this.opts.partSize));
        let current: Attempt;
        if (slot) {
          current = slot;
          slot.stop = stopper;
          slot = undefined;
        } else current = await this.take(signal, want(), stopper);
        current.want = want();
        const onStop = () => attemptAbort.abort(signal.reason);
        signal.addEventListener('abort', onStop, { once: true });
        // One check per quarter of the timeout, against the time of the last byte: re-arming a timer on
        // every read would cost thousands of timers per GiB. Only time this thread was free to read counts
        // as the server's silence: when a tick comes late (a long GC, the caller's own synchronous work),
        // the bytes may have been waiting unread all along, so the delay is not held against the range.
        const every = Math.max(10, stallTimeoutMs / 4);
        let lastData = performance.now();
        let lastTick = lastData;
        // The rate floor, on the same clock: [responsive ms since the attempt began, bytes written then].
        let responsive = 0;
        const samples: Array<[number, number]> = [[0, written]];
        const stall = setInterval(() => {
          const now = performance.now();
          // Nor is time spent waiting for the disk (a ring with no block free): the clocks start again after it.
          if (ring?.waiting) {
            lastData = lastTick = now;
            return;
          }
          const late = Math.max(0, now - lastTick - every);
          lastData = Math.min(now, lastData + late);
          responsive += now - lastTick - late;
          lastTick = now;
          const what = () => (part ? `bytes ${part.start + written}-${part.end}` : `the first response from ${this.offset}`);
          if (now - lastData >= stallTimeoutMs) {
            attemptAbort.abort(new RangepoolError('Timeout', `no data for ${stallTimeoutMs} ms on ${what()}`, { uri }));
            return;
          }
          samples.push([responsive, written]);
          while (samples.length > 2 && responsive - samples[1]![0] >= stallTimeoutMs) samples.shift();
          const [since, bytes] = samples[0]!;
          const span = responsive - since;
          if (minBytesPerSecond > 0 && span >= stallTimeoutMs && written - bytes < (minBytesPerSecond * span) / 1000) {
            const rate = Math.round(((written - bytes) * 1000) / span);
            attemptAbort.abort(new RangepoolError('Timeout', `${rate} bytes/s over ${Math.round(span)} ms on ${what()}, below the floor of ${minBytesPerSecond} (minBytesPerSecond)`, { uri }));
          }
        }, every);
        /** Where this attempt's bytes begin, and the CRC up to there (they are dropped if its response turns out to be bad). */
        const fromByte = written;
        const crcAtStart = part?.crc.copy();
        const onData = (n: number) => {
          part!.crc.update(ring ? ring.landed(n) : part!.target.subarray(written, written + n));
          written += n;
          if (current.firstByteAt === undefined) this.firstBytes.push(performance.now() - current.startedAt);
          current.data(n);
          this.landed(n);
          if (written - sunk >= SINK_BATCH) sink();
          lastData = performance.now();
        };
        this.stats.requests++;
        try {
          if (!part) {
            const first = Math.min(this.opts.partSize, this.opts.length ?? this.opts.partSize);
            await this.store.readFirst!(this.loc, this.offset, first, {
              signal: attemptAbort.signal,
              onData,
              pool: this.pool,
              threads: this.threads,
              limit: this.engine.rate,
              onTls: this.onTls,
              ifMatch: this.opts.ifMatch,
              target: async (meta, span) => {
                part = await this.begin(meta, span);
                // Its ranges are pinned now: the first response may be stopped as a straggler like any other
                // (what it lacks is then asked for elsewhere), not only waited out.
                if (!current.stop && mayStop()) current.stop = stop;
                return this.opts.sink ? memoryFor(part!) : part!.target;
              },
            });
          } else if (written < part.length) {
            const read = { version: this.meta!, signal: attemptAbort.signal, onData, pool: this.pool, threads: this.threads, limit: this.engine.rate, onTls: this.onTls };
            if (this.opts.sink && !block) await memoryFor(part);
            if (ring) await this.store.readRangeLanding!(this.loc, part.start + written, ring.landing(part.length - written), read);
            else await this.store.readRange(this.loc, part.start + written, part.target.subarray(written), read);
          }
          return;
        } catch (e) {
          if (signal.aborted) throw signal.reason;
          if (e instanceof ReadWhole) {
            part = e.part; // not a failure: the whole span is asked for at once, with no backoff
            attempt--;
            delay = 0;
            continue;
          }
          // A stall aborts the attempt: the store then fails with whatever it says; the stall is the cause.
          const err = attemptAbort.signal.aborted ? attemptAbort.signal.reason : e;
          // A response that broke its own framing (a body past its length, a bad head) vouches for none of
          // its bytes, even when all those asked for came before the fault: they are asked for again.
          if (part && isRangepoolError(err, 'IntegrityError') && written > fromByte) {
            this.received -= written - fromByte;
            // What reached the sink is taken back once every write of it has ended (a write after would name it again).
            if (this.opts.sink) {
              await settled();
              this.callerSays(() => this.opts.sink!.forget(part!.start + fromByte, written - fromByte));
            }
            written = fromByte;
            sunk = Math.min(sunk, fromByte);
            ring?.rewind(part.start + fromByte);
            part.crc = crcAtStart ?? new PartCrc(this.crcKind);
          }
          if (err instanceof StragglerError) {
            if (part && written === part.length) return;
            // Not a failure: the bytes still missing are asked for at once, on other connections.
            this.stats.stragglers++;
            straggled++;
            logRetry(attempt, part ? `bytes ${part.start + written}-${part.end}` : 'the first request', uri, 0, err);
            if (part && this.splittable && written > 0) {
              // This range keeps what came; the rest goes back, to be cut small and read at once elsewhere.
              this.requeue(part, written, attempt, true);
              return;
            }
            attempt--;
            delay = 0;
            continue;
          }
          const throttled = isThrottle(err);
          if (throttled) {
            this.stats.throttled++;
            throttledNow = true;
            // Sent above a limit the host has cut since: the engine answered that throttling already, so
            // it is not held against the range (a limit of 1 is never cut: every throttle then counts).
            if (current.limitCutSince) attempt--;
          }
          if (!isRetryable(err) || attempt >= retry.retries) throw err;
          if (part && written === part.length) return;
          // Not one large range retried late: after the backoff, what it lacks goes back to be cut again for
          // the host's next slots (at its lowered limit).
          requeueAfter = throttled && part !== undefined && this.host !== undefined && this.splittable && part.length - written > this.partSize() / 4;
          this.stats.retries++;
          // Throttling is the host's: its backoff grows with how long the host has been throttling, for every range.
          delay = throttled && this.host ? Math.max(backoffMs(attempt, retry), this.host.throttleDelayMs(retry.baseDelayMs, retry.maxDelayMs)) : backoffMs(attempt, retry);
          logRetry(attempt, part ? `bytes ${part.start + written}-${part.end}` : 'the first request', uri, delay, err);
        } finally {
          ring?.flush(); // what the attempt landed goes to the sink; the next attempt fills blocks afresh
          clearInterval(stall);
          signal.removeEventListener('abort', onStop);
          current.end(throttledNow);
          throttledNow = false;
        }
        // The backoff holds no in-flight slot.
        await sleep(delay, signal).catch(() => {
          throw signal.reason;
        });
        if (requeueAfter) return this.requeue(part!, written, attempt + 1, false);
      }
    } finally {
      // What landed goes to the sink (it is still valid data on any failure), and the memory back once written.
      await settled();
      if (block) this.pool.release(block);
    }
  }

  /** Sink mode: a pooled block for one part. */
  private block(length: number): Promise<Buffer> {
    return this.pool.acquire(length, { signal: this.stop.signal });
  }
}
