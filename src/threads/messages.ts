// What the main thread and a range thread say to each other. The main thread keeps every decision
// (signing, pinning, checks, retries, stats); a range thread only sends a request on its own keep-alive
// connections, hands back the response head, and reads the body straight into a view of the pooled
// block it was lent. Errors cross as plain data and are rebuilt on the main thread.
import type { ConnectionOptions } from 'node:tls';
import type { TlsPath } from '../http/socket-contract.js';
import { ConnectionError, type ConnectionErrorKind } from '../http/connection.js';
import type { Lent } from '../native.js';

export type ToThread =
  /** Once per thread and HTTP client: its connection pool's settings. */
  | { t: 'client'; client: number; maxSockets: number; tls: ConnectionOptions | undefined }
  /**
   * A GET. With `body`, a 2xx response's body is read into that span of the lent block at once, while the
   * main thread checks the head (it then waits for the body, or aborts it and waits for that).
   */
  | { t: 'get'; id: number; client: number; url: string; headers: Record<string, string> | undefined; body?: BodyTarget }
  /** Read the body into `target`, or (no target) into the thread's own memory, sent back. */
  | ({ t: 'body'; id: number } & BodyTarget)
  /** At most `limit` bytes of the body as text (an error body). */
  | { t: 'text'; id: number; limit: number }
  | { t: 'drop'; id: number }
  /** Stop whatever `id` is doing: its connection is destroyed before the thread answers. */
  | { t: 'abort'; id: number };

/** Bytes [offset, offset + length) of a lent block (or, without `lent`, `length` bytes of the thread's own memory). */
export interface BodyTarget {
  lent: Lent | undefined;
  offset: number;
  length: number;
  /** The engine's bandwidth cap, shared with the main thread and every other thread (engine/rate-limit.ts). */
  limit?: { bytesPerSecond: number; shared: SharedArrayBuffer } | undefined;
}

export type FromThread =
  /** The thread is listening (sent once, first). */
  | { t: 'ready' }
  /**
   * The response head. A response that is not 2xx comes with its body as text (at most ERROR_BODY_LIMIT
   * bytes, read at once rather than after a round trip to the main thread) and its connection is done.
   */
  | { t: 'head'; id: number; status: number; version: string; headers: Array<[string, string]>; tls?: TlsPath | undefined; text?: string }
  /** Body bytes that landed since the last 'data' (sent at most once per turn of the thread's loop). */
  | { t: 'data'; id: number; n: number }
  /** The body is complete (its connection back in the thread's pool, or closed); `bytes` for an unlent destination, `text` for 'text'. */
  | { t: 'done'; id: number; n: number; bytes?: Uint8Array; text?: string }
  /** The request or its body failed; the connection is destroyed already. */
  | { t: 'error'; id: number; error: WireError };

export interface WireError {
  name: string;
  message: string;
  code?: string;
  kind?: ConnectionErrorKind;
  cause?: { message: string; code?: string };
}

const codeOf = (e: unknown): string | undefined => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

export function toWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const cause = err.cause instanceof Error ? { message: err.cause.message, code: codeOf(err.cause) } : undefined;
  return { name: err.name, message: err.message, code: codeOf(err), kind: err instanceof ConnectionError ? err.kind : undefined, cause };
}

/** The error as the main thread's own HTTP client would have thrown it (a ConnectionError, or a socket error with its code). */
export function fromWire(w: WireError): Error {
  const withCode = <E extends Error>(e: E, code: string | undefined): E => (code === undefined ? e : Object.assign(e, { code }));
  const cause = w.cause ? withCode(new Error(w.cause.message), w.cause.code) : undefined;
  if (w.kind) return new ConnectionError(w.kind, w.message, { cause });
  const e = withCode(new Error(w.message, { cause }), w.code);
  e.name = w.name;
  return e;
}
