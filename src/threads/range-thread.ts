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
import { binding } from '../native.js';
import { toWire, type FromThread, type ToThread } from './messages.js';

const port = parentPort!;
const clients = new Map<number, HttpClient>();
/** Requests under way: the abort that stops each, and its response once the head is here. */
const requests = new Map<number, { abort: AbortController; res?: HttpResponse }>();

const send = (m: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);

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
    r.res = res;
    send({ t: 'head', id: m.id, status: res.status, version: res.version, headers: [...res.headers] });
  } catch (e) {
    fail(m.id, e);
  }
}

async function body(m: Extract<ToThread, { t: 'body' }>): Promise<void> {
  const r = requests.get(m.id);
  if (!r?.res) return fail(m.id, new Error('no response to read'));
  let view: ArrayBuffer | undefined;
  let pending = 0;
  let flush: NodeJS.Immediate | undefined;
  const report = () => {
    flush = undefined;
    if (pending > 0) send({ t: 'data', id: m.id, n: pending });
    pending = 0;
  };
  try {
    view = m.lent ? binding!.view(m.lent.poolId, m.lent.address, m.lent.ticket, m.offset, m.length) : undefined;
    const dest = view ? Buffer.from(view) : Buffer.allocUnsafe(m.length);
    const onData = (n: number) => {
      pending += n;
      flush ??= setImmediate(report);
    };
    const n = await r.res.readBody(dest, { signal: r.abort.signal, onData });
    if (flush) clearImmediate(flush);
    report();
    requests.delete(m.id);
    if (view) send({ t: 'done', id: m.id, n });
    else send({ t: 'done', id: m.id, n, bytes: dest.subarray(0, n) }, [dest.buffer as ArrayBuffer]);
  } catch (e) {
    if (flush) clearImmediate(flush);
    report(); // what landed before the failure counts: the main thread resumes from there
    fail(m.id, e);
  } finally {
    // The connection no longer reads into the view (done, or destroyed by the failure).
    if (view) binding!.unview(view);
  }
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
