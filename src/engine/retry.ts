import { debuglog } from 'node:util';
import { RangepoolError } from '../errors.js';
import { redactText, redactUri } from '../redact.js';

const debug = debuglog('rangepool');

export interface RetryOptions {
  /** Attempts after the first. */
  retries: number;
  /** First backoff ceiling; doubles each attempt up to maxDelayMs (full jitter below it). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/** Full-jitter exponential backoff: a random delay in [0, min(max, base * 2^attempt)). */
export function backoffMs(attempt: number, opts: RetryOptions, random = Math.random): number {
  return Math.floor(random() * Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** attempt));
}

export function isRetryable(e: unknown): boolean {
  return e instanceof RangepoolError && e.retryable;
}

/** Waits `ms`, or rejects at once with the signal's reason when it fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `p`, or the signal's reason as soon as it is aborted (what `p` does after that is not waited for). */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** NODE_DEBUG=rangepool: what failed and when it goes again (signed URLs redacted, never a credential). */
export function logRetry(attempt: number, what: string, uri: string, delayMs: number, err: unknown): void {
  debug('retry %d of %s of %s in %d ms: %s', attempt + 1, what, redactUri(uri), delayMs, redactText(String((err as Error)?.message ?? err)));
}

/** Runs `fn` until it succeeds, fails for good, or the retries run out (for whole calls such as stat). */
export async function withRetries<T>(fn: () => Promise<T>, opts: RetryOptions, signal: AbortSignal = new AbortController().signal, onRetry?: (attempt: number, delayMs: number, err: unknown) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let delay: number;
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e) || attempt >= opts.retries || signal.aborted) throw e;
      delay = backoffMs(attempt, opts);
      onRetry?.(attempt, delay, e);
    }
    await sleep(delay, signal);
  }
}

/**
 * Runs `fn` with a signal that aborts after `ms` (or when `signal` does), and rejects with timeoutError()
 * at that moment even if `fn` ignores its signal: every request has an end.
 */
export function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, signal: AbortSignal | undefined, timeoutError: () => Error): Promise<T> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = timeoutError();
      ac.abort(e);
      reject(e);
    }, ms);
  });
  return Promise.race([fn(ac.signal), timedOut]).finally(() => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  });
}
