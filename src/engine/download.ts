// One download: its buffer, parts, running checksums, stats, stop signal and progress. When the object's
// meta is not known yet, the first part's response supplies it (a store's readFirst): the buffer is
// acquired once that response's head is read, and the other parts start at once, pinned to what it said.
import { setMaxListeners } from 'node:events';
import { RangepoolError, abortedError, invalidArgument, printable } from '../errors.js';
import type { Pool } from '../pool/types.js';
import type { ObjectMeta, Store } from '../stores/store.js';
import type { Location } from '../uri.js';
import { PartCrc, checksumFor, checksumMatches, type Checksum } from './checksum.js';
import type { DownloadOptions, DownloadResult, DownloadStats, EngineContext } from './types.js';
import { canPinRanges } from './pin.js';
import { planParts } from './plan.js';
import { backoffMs, isRetryable, logRetry, sleep } from './retry.js';
import type { RangeThreads } from '../threads/range-threads.js';

/** One range of the download: bytes [start, end] of the object, written into `target`. */
interface PartState {
  start: number;
  end: number;
  length: number;
  target: Buffer;
  crc: PartCrc;
}

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
  private parts: PartState[] = [];
  private readonly queue: PartState[] = [];
  private readonly workers: Array<Promise<void>> = [];
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

  constructor(
    private readonly engine: EngineContext,
    private readonly store: Store,
    private readonly loc: Location,
    private readonly pool: Pool,
    private readonly opts: DownloadOptions & { partSize: number; concurrency: number },
    meta: ObjectMeta | undefined,
  ) {
    this.meta = meta;
    this.offset = opts.offset ?? 0;
    setMaxListeners(0, this.stop.signal); // one listener per range in flight or waiting: many, by design
    // Range threads read into views of a native pool's blocks; other memory is read on this thread.
    this.threads = store.transport === 'direct' && pool.native && !opts.into ? engine.threads : undefined;
    this.stats = { bytes: 0, ranges: 0, requests: 0, retries: 0, elapsedMs: 0, bytesPerSecond: 0, verified: false, transport: store.transport, threads: this.threads?.size ?? 0 };
  }

  async run(): Promise<DownloadResult> {
    const { signal } = this.opts;
    const uri = this.loc.uri;
    if (signal?.aborted) throw abortedError(signal, uri);
    const started = performance.now();
    const onCallerAbort = () => this.fail(abortedError(signal!, uri));
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      await this.threads?.ready();
      if (!this.meta && (!this.store.readFirst || this.opts.verify || this.opts.length === 0)) {
        this.meta = await this.engine.stat(this.store, this.loc, this.stop.signal);
      }
      // With meta known, every part is planned now; else the first part's response says what the object is.
      const main = this.meta ? this.begin(this.meta) : this.fetchPart(undefined);
      await main.catch((e) => this.fail(e));
      await Promise.allSettled(this.workers);
      // Every range has stopped writing by now: only then may the buffer go back.
      if (this.stop.signal.aborted) throw this.stop.signal.reason;
      if (this.verify && !checksumMatches(this.verify, this.meta!, this.buffer!, this.parts)) {
        throw new RangepoolError('IntegrityError', `the object's ${this.verify} does not match the bytes received`, { uri });
      }
      this.stats.verified = this.verify;
    } catch (e) {
      if (this.buffer && this.buffer !== this.opts.into) this.pool.release(this.buffer);
      if (this.userError) throw this.userError.error;
      throw e instanceof RangepoolError ? e : new RangepoolError('Internal', `unexpected error: ${(e as Error)?.message}`, { uri, cause: e });
    } finally {
      signal?.removeEventListener('abort', onCallerAbort);
    }
    this.stats.elapsedMs = performance.now() - started;
    this.stats.bytesPerSecond = this.stats.elapsedMs > 0 ? (this.length / this.stats.elapsedMs) * 1000 : 0;
    const asked = this.opts.crc !== undefined && this.crcKind === this.opts.crc ? this.crcKind : undefined;
    const crc = asked === 'crc32c' ? PartCrc.combine32(this.parts) : asked === 'crc64nvme' ? PartCrc.combine64(this.parts) : undefined;
    return { buffer: this.buffer!, meta: this.meta!, stats: this.stats, ...(crc !== undefined ? { crc } : {}) };
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
    const length = this.opts.length ?? meta.size - offset;
    if (offset + length > meta.size) throw invalidArgument(`range ${offset}+${length} runs past the end of the object (${meta.size} bytes)`, uri);
    if (first && (first.start !== offset || first.length > length)) {
      throw new RangepoolError('IntegrityError', `the server sent bytes ${first.start}-${first.start + first.length - 1}, more than the ${length} asked for from ${offset}: it ignores ranges`, { uri });
    }
    // Nothing proves that two responses come from one version: the whole span in one request instead.
    const oneRequest = length - (first?.length ?? 0) > 0 && !canPinRanges(meta, this.store);
    this.verify = checksumFor(this.opts.verify, meta, offset === 0 && length === meta.size, uri);
    this.crcKind = this.verify || (this.opts.crc ?? false);
    this.length = this.stats.bytes = length;
    const buffer = await this.acquire(length);
    const done = first?.length ?? 0;
    const size = this.partSize();
    const state = (start: number, len: number, at: number): PartState => ({ start, end: start + len - 1, length: len, target: buffer.subarray(at, at + len), crc: new PartCrc(this.crcKind) });
    if (oneRequest) {
      this.parts = [state(offset, length, 0)];
      this.stats.ranges = 1;
      // The first response holds only a part of the span: it is dropped, and its attempt reads the whole.
      if (first) throw new ReadWhole(this.parts[0]!);
      this.queue.push(this.parts[0]!);
      this.workers.push(this.worker());
      return undefined;
    }
    const rest = planParts(offset + done, length - done, size, this.engine.options.singleRequestBelow).map((p) => state(p.start, p.end - p.start + 1, done + p.offset));
    const head = first ? state(offset, done, 0) : undefined;
    this.parts = head && done > 0 ? [head, ...rest] : rest;
    // The first response already holds one of the object's concurrency slots.
    this.start(rest, first ? 1 : 0);
    return head;
  }

  /** Several spans of a pinnable version (getRanges), each at its place in one buffer; meta was known. */
  private async beginSpans(spans: NonNullable<DownloadOptions['spans']>, meta: ObjectMeta): Promise<undefined> {
    const uri = this.loc.uri;
    if (!canPinRanges(meta, this.store)) throw new RangepoolError('Internal', 'spans of an object without a strong validator must be read as one', { uri });
    for (const s of spans) if (s.start + s.length > meta.size) throw invalidArgument(`range ${s.start}+${s.length} runs past the end of the object (${meta.size} bytes)`, uri);
    this.verify = checksumFor(this.opts.verify, meta, false, uri);
    this.length = this.stats.bytes = spans.reduce((n, s) => n + s.length, 0);
    const buffer = await this.acquire(spans.reduce((n, s) => Math.max(n, s.at + s.length), 0));
    const size = this.partSize();
    this.parts = spans.flatMap((s) =>
      planParts(s.start, s.length, size, this.engine.options.singleRequestBelow).map((p) => {
        const at = s.at + p.offset;
        const length = p.end - p.start + 1;
        return { start: p.start, end: p.end, length, target: buffer.subarray(at, at + length), crc: new PartCrc(false) };
      }),
    );
    this.start(this.parts, 0);
    return undefined;
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

  /** Queues `parts` and starts workers for them (`busy`: slots of the object's concurrency already taken). */
  private start(parts: PartState[], busy: number): void {
    this.stats.ranges = this.parts.length;
    this.queue.push(...parts);
    const workers = Math.min(parts.length, Math.max(1, this.opts.concurrency - busy));
    for (let i = 0; i < workers; i++) this.workers.push(this.worker());
  }

  private async worker(): Promise<void> {
    try {
      for (let part = this.queue.shift(); part && !this.stop.signal.aborted; part = this.queue.shift()) await this.fetchPart(part);
    } catch (e) {
      this.fail(e);
    }
  }

  private progress(n: number): void {
    // A range thread may report bytes after the download stopped; the caller hears nothing after that.
    if (this.stop.signal.aborted) return;
    this.received += n;
    if (!this.opts.onProgress) return;
    try {
      this.opts.onProgress({ bytes: this.received, total: this.length });
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
  private async fetchPart(part: PartState | undefined): Promise<void> {
    const signal = this.stop.signal;
    const { retry, stallTimeoutMs, minBytesPerSecond } = this.engine.options;
    const uri = this.loc.uri;
    let written = 0;
    let delay = 0;
    for (let attempt = 0; ; attempt++) {
      const giveSlot = await this.engine.limiter.take(signal);
      const attemptAbort = new AbortController();
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
      const onData = (n: number) => {
        part!.crc.update(part!.target.subarray(written, written + n));
        written += n;
        this.progress(n);
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
            ifMatch: this.opts.ifMatch,
            target: async (meta, span) => {
              part = await this.begin(meta, span);
              return part!.target;
            },
          });
        } else if (written < part.length) {
          await this.store.readRange(this.loc, part.start + written, part.target.subarray(written), { version: this.meta!, signal: attemptAbort.signal, onData, pool: this.pool, threads: this.threads });
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
        if (!isRetryable(err) || attempt >= retry.retries) throw err;
        if (part && written === part.length) return;
        this.stats.retries++;
        delay = backoffMs(attempt, retry);
        logRetry(attempt, part ? `bytes ${part.start + written}-${part.end}` : 'the first request', uri, delay, err);
      } finally {
        clearInterval(stall);
        signal.removeEventListener('abort', onStop);
        giveSlot();
      }
      // The backoff holds no in-flight slot.
      await sleep(delay, signal).catch(() => {
        throw signal.reason;
      });
    }
  }
}
