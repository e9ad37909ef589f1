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
import { binding } from '../native.js';
import { fromWire, type FromThread, type ToThread } from './messages.js';

const debug = debuglog('rangepool');

type Done = Extract<FromThread, { t: 'done' }>;
type Head = Extract<FromThread, { t: 'head' }>;

interface Waiting {
  resolve: (m: Head | Done) => void;
  reject: (e: unknown) => void;
  onData?: (n: number) => void;
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
  readonly waiting = new Map<number, Waiting>();
  /** The HTTP clients whose settings this thread has. */
  readonly clients = new Set<number>();

  constructor(onExit: (t: Thread) => void) {
    // Ref'd while it starts (someone waits for it), then only while requests are under way.
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    this.worker.on('message', (m: FromThread) => this.onMessage(m));
    this.worker.on('error', (e) => debug('a range thread failed: %s', (e as Error)?.message));
    this.worker.on('exit', (code) => {
      this.dead = true;
      debug('a range thread exited (code %d) with %d requests under way', code, this.waiting.size);
      const err = new ConnectionError('closed', `the range thread exited (code ${code})`);
      for (const w of this.waiting.values()) w.reject(err);
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

  /** Sends `m` and waits for the thread's answer to it; an abort is passed on, and still waits for that answer. */
  call(id: number, m: ToThread, signal: AbortSignal | undefined, onData?: (n: number) => void): Promise<Head | Done> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new ConnectionError('closed', 'the range thread exited'));
      const onAbort = () => this.post({ t: 'abort', id });
      const settle = () => signal?.removeEventListener('abort', onAbort);
      this.waiting.set(id, {
        onData,
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(signal?.aborted ? signal.reason : e)),
      });
      this.post(m);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
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
    const w = this.waiting.get(m.id);
    if (!w) return;
    if (m.t === 'data') {
      try {
        w.onData?.(m.n);
      } catch {
        // The caller's progress callback threw: stop, as the main-thread reader does, and report no more.
        w.onData = undefined;
        this.post({ t: 'abort', id: m.id });
      }
      return;
    }
    this.waiting.delete(m.id);
    if (m.t === 'error') w.reject(fromWire(m.error));
    else w.resolve(m);
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
  private readonly clientIds = new WeakMap<HttpClient, number>();
  private nextClient = 1;
  private nextId = 1;

  private constructor(readonly size: number) {}

  /**
   * `http`'s requests, sent from the range threads with its settings (each thread opens its own share
   * of its maxSockets). A client whose TLS options cannot cross threads (a function in them) stays here.
   */
  clientFor(http: HttpClient): HttpGet {
    let client = this.clientIds.get(http);
    if (client === undefined) {
      try {
        structuredClone(http.pool.tls);
        client = this.nextClient++;
      } catch {
        client = 0;
        debug('range threads: these TLS options cannot cross threads; their requests stay on the main thread');
      }
      this.clientIds.set(http, client);
    }
    return client === 0 ? http : { get: (req, signal) => this.get(http, client, req, signal) };
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

  private async get(http: HttpClient, client: number, req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const thread = this.pick();
    if (!thread.clients.has(client)) {
      thread.post({ t: 'client', client, maxSockets: Math.ceil(http.pool.maxSockets / this.size), tls: http.pool.tls });
      thread.clients.add(client);
    }
    const id = this.nextId++;
    thread.begin();
    let head: Head;
    try {
      head = (await thread.call(id, { t: 'get', id, client, url: req.url.href, headers: req.headers }, signal)) as Head;
    } catch (e) {
      thread.end();
      throw e;
    }
    // A response that is not 2xx came whole (its text); its connection is already done with on the thread.
    let open = head.text === undefined;
    if (!open) thread.end();
    const finish = () => {
      if (open) thread.end();
      open = false;
    };
    return {
      status: head.status,
      version: head.version,
      headers: new Map(head.headers),
      readBody: async (dest, opts) => {
        try {
          // A pooled block is lent: the thread reads into it. Any other memory: into the thread's, then copied here.
          const lent = dest.byteLength > 0 ? binding?.lend(dest.buffer as ArrayBuffer) : undefined;
          const done = (await thread.call(id, { t: 'body', id, lent, offset: dest.byteOffset, length: dest.byteLength }, opts?.signal, lent && opts?.onData)) as Done;
          if (!lent && done.bytes) {
            dest.set(done.bytes);
            if (done.n > 0) opts?.onData?.(done.n);
          }
          return done.n;
        } finally {
          finish();
        }
      },
      readText: async (limit, sig) => {
        if (head.text !== undefined) return head.text.slice(0, limit);
        try {
          return ((await thread.call(id, { t: 'text', id, limit }, sig)) as Done).text ?? '';
        } finally {
          finish();
        }
      },
      drop: () => {
        if (open) thread.post({ t: 'drop', id });
        finish();
      },
    };
  }
}
