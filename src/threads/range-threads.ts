// Range threads, seen from the main thread: an HTTP client whose requests go out on worker threads'
// own keep-alive connections (spread across the threads, the least busy first) and whose bodies are
// read there straight into the pooled block, through a view the main thread lends (no transfer, no
// copy, no chunk). Everything else stays here: signing, pinning, checks, retries, limits, stats.
//
// A request's promise settles only when its thread says it is done or has failed, and a thread says so
// only after its connection stopped reading into the view: so once every range of a download has
// settled, no thread can write into its buffer, and the buffer may go back. A thread that dies fails
// its requests (they are retried on another); its views went with it. Threads are unref'd while idle:
// they never keep the process alive.
import { Worker } from 'node:worker_threads';
import { debuglog } from 'node:util';
import { ConnectionError } from '../http/connection.js';
import type { HttpClient, HttpGet, HttpRequest, HttpResponse } from '../http/client.js';
import { printable } from '../errors.js';
import { binding } from '../native.js';
import { redactText } from '../redact.js';
import { fromWire, type FromThread, type ToThread } from './messages.js';
import type { RateLimit } from '../engine/rate-limit.js';

const debug = debuglog('rangepool');

/** A bandwidth cap as it crosses to a thread: its shared clock and rate (the thread rebuilds it over the same memory). */
const sharedLimit = (limit: RateLimit | undefined) => limit && { bytesPerSecond: limit.bytesPerSecond, shared: limit.shared };

type Done = Extract<FromThread, { t: 'done' }>;
type Head = Extract<FromThread, { t: 'head' }>;

/**
 * One awaited answer of a thread to a request: a head, or the end of a body. A body's waiter also takes
 * its progress: counted in `early` until someone listens (a body read before the main thread has
 * accepted the head).
 */
interface Waiter {
  resolve: (m: Head | Done) => void;
  reject: (e: unknown) => void;
  body: boolean;
  onData?: (n: number) => void;
  early: number;
  /** Passes an abort of `signal` on to the thread (the answer is still awaited). */
  listen(signal: AbortSignal | undefined): void;
}

const entry = new URL(`./range-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

function startWorker(): Worker {
  // No Node options of this process's: the thread runs only this package's code, and options such as a
  // -e script's --input-type would stop it from starting.
  const execArgv: string[] = [];
  // From the TypeScript sources (the test suite), the thread loads them through tsx as this thread does.
  if (entry.pathname.endsWith('.ts')) {
    return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, execArgv });
  }
  return new Worker(entry, { execArgv });
}

class Thread {
  readonly worker = startWorker();
  /** Requests under way (from the request until its body is read or dropped): the thread is ref'd while any are. */
  busy = 0;
  dead = false;
  /** Resolves once the thread listens (or has died). */
  readonly ready: Promise<void>;
  private isReady = false;
  private onReady!: () => void;
  /** Per request, its awaited answers in the order they come. */
  readonly waiting = new Map<number, Waiter[]>();
  /** The HTTP clients whose settings this thread has. */
  readonly clients = new Set<number>();

  constructor(onExit: (t: Thread) => void) {
    // Ref'd while it starts (someone waits for it), then only while requests are under way.
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    this.worker.on('message', (m: FromThread) => this.onMessage(m));
    this.worker.on('error', (e) => debug('a range thread failed: %s', printable(redactText(String((e as Error)?.message)))));
    this.worker.on('exit', (code) => {
      this.dead = true;
      debug('a range thread exited (code %d) with %d requests under way', code, this.waiting.size);
      const err = new ConnectionError('closed', `the range thread exited (code ${code})`);
      for (const queue of this.waiting.values()) for (const w of queue) w.reject(err);
      this.waiting.clear();
      this.onReady();
      onExit(this);
    });
  }

  post(m: ToThread): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  begin(): void {
    if (this.busy++ === 0) this.worker.ref();
  }

  end(): void {
    if (--this.busy === 0 && this.isReady) this.worker.unref();
  }

  /**
   * The thread's next answer to request `id` (its head, or the end of its body), awaited in order. An
   * abort of `signal` is passed on, and the answer still awaited: a request settles only once its thread
   * has stopped. An error answer ends every waiter of the request.
   */
  expect(id: number, body: boolean, signal?: AbortSignal): { done: Promise<Head | Done>; waiter: Waiter } {
    let waiter!: Waiter;
    const done = new Promise<Head | Done>((resolve, reject) => {
      let listened: AbortSignal | undefined;
      const onAbort = () => this.post({ t: 'abort', id });
      const settle = () => listened?.removeEventListener('abort', onAbort);
      waiter = {
        body,
        early: 0,
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(listened?.aborted ? listened.reason : e)),
        listen: (s) => {
          if (!s) return;
          listened = s;
          if (s.aborted) onAbort();
          else s.addEventListener('abort', onAbort, { once: true });
        },
      };
    });
    if (this.dead) waiter.reject(new ConnectionError('closed', 'the range thread exited'));
    else {
      const queue = this.waiting.get(id);
      if (queue) queue.push(waiter);
      else this.waiting.set(id, [waiter]);
      waiter.listen(signal);
    }
    return { done, waiter };
  }

  /** Gives progress to the body's listener from now on, first what came before it listened. */
  listenToBody(id: number, waiter: Waiter, onData: ((n: number) => void) | undefined): void {
    waiter.onData = onData;
    const early = waiter.early;
    waiter.early = 0;
    if (early > 0) this.progress(id, waiter, early);
  }

  /** Forgets what is still awaited of request `id` (the thread sends no more about it). */
  forget(id: number): void {
    this.waiting.delete(id);
  }

  private progress(id: number, w: Waiter, n: number): void {
    if (!w.onData) {
      w.early += n;
      return;
    }
    try {
      w.onData(n);
    } catch {
      // The caller's progress callback threw: stop, as the main-thread reader does, and report no more.
      w.onData = () => {};
      this.post({ t: 'abort', id });
    }
  }

  get usable(): boolean {
    return this.isReady && !this.dead;
  }

  private onMessage(m: FromThread): void {
    if (m.t === 'ready') {
      this.isReady = true;
      if (this.busy === 0) this.worker.unref();
      return this.onReady();
    }
    const queue = this.waiting.get(m.id);
    if (!queue) return;
    if (m.t === 'data') {
      const w = queue.find((q) => q.body);
      if (w) this.progress(m.id, w, m.n);
      return;
    }
    if (m.t === 'error') {
      this.waiting.delete(m.id);
      const e = fromWire(m.error);
      for (const w of queue) w.reject(e);
      return;
    }
    const w = queue.shift()!;
    if (queue.length === 0) this.waiting.delete(m.id);
    w.resolve(m);
  }
}

/** One set of range threads per size, shared by every engine of the process that asks for that many. */
const shared = new Map<number, RangeThreads>();

export class RangeThreads {
  /** The process's `size` range threads (threads are a process's resource, as the pool's memory is). */
  static shared(size: number): RangeThreads {
    let t = shared.get(size);
    if (!t) shared.set(size, (t = new RangeThreads(size)));
    return t;
  }

  private readonly threads: Thread[] = [];
  /** Per HTTP client, what sends its requests: from the threads, or (TLS options that cannot cross) the client itself. */
  private readonly clients = new WeakMap<HttpClient, HttpGet>();
  private nextClient = 1;
  private nextId = 1;

  private constructor(readonly size: number) {}

  /**
   * `http`'s requests, sent from the range threads with its settings (each thread opens its own share
   * of its maxSockets). A client whose TLS options cannot cross threads (a function in them) stays here.
   */
  clientFor(http: HttpClient): HttpGet {
    let client = this.clients.get(http);
    if (!client) {
      try {
        structuredClone(http.pool.tls);
        const id = this.nextClient++;
        client = { get: (req, signal, into, limit) => this.get(http, id, req, signal, into, limit) };
      } catch {
        client = http;
        debug('range threads: these TLS options cannot cross threads; their requests stay on the main thread');
      }
      this.clients.set(http, client);
    }
    return client;
  }

  /**
   * Starts the threads that are missing (all of them at first use; a replacement after one died) and
   * resolves when they listen, so that a thread's start-up is never taken for a silent server.
   */
  ready(): Promise<void> {
    while (this.threads.length < this.size) {
      const t: Thread = new Thread(() => this.threads.splice(this.threads.indexOf(t) >>> 0, 1));
      this.threads.push(t);
    }
    return Promise.all(this.threads.map((t) => t.ready)).then(() => {});
  }

  /** The threads running now (for diagnostics: resource use, or a test that terminates one). */
  get workers(): Worker[] {
    return this.threads.map((t) => t.worker);
  }

  /** The least busy thread that listens (any thread while none does yet: the request waits in its queue). */
  private pick(): Thread {
    if (this.threads.length < this.size) void this.ready();
    const candidates = this.threads.some((t) => t.usable) ? this.threads.filter((t) => t.usable) : this.threads;
    return candidates.reduce((a, t) => (t.busy < a.busy ? t : a));
  }

  private async get(http: HttpClient, client: number, req: HttpRequest, signal?: AbortSignal, into?: Uint8Array, limit?: RateLimit): Promise<HttpResponse> {
    const thread = this.pick();
    if (!thread.clients.has(client)) {
      thread.post({ t: 'client', client, maxSockets: Math.ceil(http.pool.maxSockets / this.size), tls: http.pool.tls });
      thread.clients.add(client);
    }
    const id = this.nextId++;
    // A pooled block is lent: the thread reads a 2xx body into it as soon as the head is in.
    const lent = into && into.byteLength > 0 ? binding?.lend(into.buffer as ArrayBuffer) : undefined;
    thread.begin();
    const head = thread.expect(id, false, signal);
    const early = lent ? thread.expect(id, true) : undefined;
    early?.done.catch(() => {}); // an error before the head ends it too; that error is the head's to report
    thread.post({ t: 'get', id, client, url: req.url.href, headers: req.headers, body: lent && { lent, offset: into!.byteOffset, length: into!.byteLength, limit: sharedLimit(limit) } });
    let h: Head;
    try {
      h = (await head.done) as Head;
    } catch (e) {
      thread.end();
      throw e;
    }
    // A response that is not 2xx came whole (its text); its connection is already done with on the thread.
    let open = h.text === undefined;
    if (!open) {
      thread.forget(id);
      thread.end();
    }
    const reading = open ? early : undefined;
    const finish = () => {
      if (open) thread.end();
      open = false;
    };
    // The thread is writing into the lent block: it stops, and says so, before this settles.
    const stop = async () => {
      thread.post({ t: 'abort', id });
      await reading!.done.catch(() => {});
    };
    return {
      status: h.status,
      version: h.version,
      headers: new Map(h.headers),
      tls: h.tls,
      readBody: async (dest, opts) => {
        try {
          if (!(dest instanceof Uint8Array)) throw new Error('a range thread reads into a buffer, not a landing');
          if (reading) {
            if (dest !== into) {
              await stop();
              throw new Error('a body already read into one buffer cannot be read into another');
            }
            thread.listenToBody(id, reading.waiter, opts?.onData);
            reading.waiter.listen(opts?.signal);
            return ((await reading.done) as Done).n;
          }
          const lentNow = dest.byteLength > 0 ? binding?.lend(dest.buffer as ArrayBuffer) : undefined;
          const body = thread.expect(id, true, opts?.signal);
          thread.listenToBody(id, body.waiter, lentNow && opts?.onData);
          thread.post({ t: 'body', id, lent: lentNow, offset: dest.byteOffset, length: dest.byteLength, limit: sharedLimit(opts?.limit) });
          const done = (await body.done) as Done;
          if (!lentNow && done.bytes) {
            // Read into the thread's own memory (not a pooled block here): copied in, then counted.
            dest.set(done.bytes);
            if (done.n > 0) opts?.onData?.(done.n);
          }
          return done.n;
        } finally {
          finish();
        }
      },
      readText: async (limit, sig) => {
        if (h.text !== undefined) return h.text.slice(0, limit);
        try {
          const body = thread.expect(id, false, sig);
          thread.post({ t: 'text', id, limit });
          return ((await body.done) as Done).text ?? '';
        } finally {
          finish();
        }
      },
      drop: async () => {
        if (!open) return;
        if (reading) await stop();
        else thread.post({ t: 'drop', id });
        finish();
      },
    };
  }
}
