// A range thread (a worker_threads Worker started by range-threads.ts): it owns keep-alive connections
// and reads response bodies straight from its sockets into views of pooled blocks the main thread lent
// it. It decides nothing: what to ask, and whether a response will do, is the main thread's call.
//
// The memory rule: a view is given back (unview) only after its connection has stopped reading into
// it (the body is complete, or the socket is destroyed), and the main thread hears 'done' or 'error'
// only after that; a block whose owner gives it back earlier stays out until the view is gone.
import { parentPort } from 'node:worker_threads';
import { HttpClient, type HttpResponse } from '../http/client.js';
import { ConnectionPool } from '../http/pool.js';
import { binding, type BlockView } from '../native.js';
import { ERROR_BODY_LIMIT } from '../stores/direct.js';
import { toWire, type BodyTarget, type FromThread, type ToThread } from './messages.js';
import { RateLimit } from '../engine/rate-limit.js';

const port = parentPort!;
const REPORT_BYTES = 4 << 20;
const REPORT_MS = 5;
const clients = new Map<number, HttpClient>();
/** Requests under way: the abort that stops each, and its response once the head is here. */
const requests = new Map<number, { abort: AbortController; res?: HttpResponse }>();

const send = (m: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);
/** The main thread's bandwidth cap, over the memory it shares with every thread (its state lives there alone). */
const limitFor = (l: BodyTarget['limit']) => l && new RateLimit(l.bytesPerSecond, l.shared);

function fail(id: number, e: unknown): void {
  requests.get(id)?.res?.drop();
  requests.delete(id);
  send({ t: 'error', id, error: toWire(e) });
}

async function get(m: Extract<ToThread, { t: 'get' }>): Promise<void> {
  const abort = new AbortController();
  requests.set(m.id, { abort });
  try {
    const res = await clients.get(m.client)!.get({ url: new URL(m.url), headers: m.headers }, abort.signal);
    const r = requests.get(m.id);
    if (!r) return res.drop(); // aborted as the head arrived
    const head: FromThread = { t: 'head', id: m.id, status: res.status, version: res.version, headers: [...res.headers], tls: res.tls };
    if (res.status >= 200 && res.status < 300) {
      r.res = res;
      send(head);
      if (m.body) await body({ t: 'body', id: m.id, ...m.body });
      return;
    }
    // Every answer but a 2xx is an error (its body says why), a redirect or a 416: read its text now.
    const text = await res.readText(ERROR_BODY_LIMIT, abort.signal).catch(() => '');
    requests.delete(m.id);
    send({ ...head, text });
  } catch (e) {
    fail(m.id, e);
  }
}

async function body(m: Extract<ToThread, { t: 'body' }>): Promise<void> {
  const r = requests.get(m.id);
  if (!r?.res) return fail(m.id, new Error('no response to read'));
  let view: BlockView | undefined;
  let pending = 0;
  let flush: NodeJS.Timeout | undefined;
  const report = () => {
    clearTimeout(flush);
    flush = undefined;
    if (pending > 0) send({ t: 'data', id: m.id, n: pending });
    pending = 0;
  };
  let dest: Buffer | undefined;
  let result: { n: number } | { error: unknown };
  try {
    view = m.lent ? binding!.view(m.lent.poolId, m.lent.address, m.lent.ticket, m.offset, m.length) : undefined;
    dest = view ? Buffer.from(view.buffer) : Buffer.allocUnsafeSlow(m.length); // its own memory: it is transferred
    // Progress in batches (a message costs both threads several microseconds): every REPORT_BYTES, or
    // REPORT_MS after the first unreported byte; at the end or a failure, what is left.
    const onData = (n: number) => {
      pending += n;
      if (pending >= REPORT_BYTES) report();
      else flush ??= setTimeout(report, REPORT_MS);
    };
    result = { n: await r.res.readBody(dest, { signal: r.abort.signal, onData, limit: limitFor(m.limit) }) };
  } catch (e) {
    result = { error: e };
  }
  // The connection reads into the view no more (the body is complete, or the failure destroyed it): the
  // view goes back first, so the block is free to go back when the main thread hears of it.
  if (view) binding!.unview(view);
  report(); // what landed counts, a failure's too: the main thread resumes after it
  if ('error' in result) return fail(m.id, result.error);
  requests.delete(m.id);
  if (view) send({ t: 'done', id: m.id, n: result.n });
  else send({ t: 'done', id: m.id, n: result.n, bytes: dest!.subarray(0, result.n) }, [dest!.buffer as ArrayBuffer]);
}

async function text(m: Extract<ToThread, { t: 'text' }>): Promise<void> {
  const r = requests.get(m.id);
  if (!r?.res) return fail(m.id, new Error('no response to read'));
  try {
    const text = await r.res.readText(m.limit, r.abort.signal);
    requests.delete(m.id);
    send({ t: 'done', id: m.id, n: text.length, text });
  } catch (e) {
    fail(m.id, e);
  }
}

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'client':
      clients.set(m.client, new HttpClient(new ConnectionPool({ maxSockets: m.maxSockets, tls: m.tls })));
      return;
    case 'get':
      return void get(m);
    case 'body':
      return void body(m);
    case 'text':
      return void text(m);
    case 'drop':
      requests.get(m.id)?.res?.drop();
      requests.delete(m.id);
      return;
    case 'abort':
      requests.get(m.id)?.abort.abort(new Error('aborted by the main thread'));
      return;
  }
});
send({ t: 'ready' });
