import { redactText, redactUri } from './redact.js';

/**
 * The one error type rangepool throws. `code` is from a closed set so callers can branch on it;
 * `uri` names the object (when there is one) and `cause` keeps the underlying error.
 */
export const ERROR_CODES = [
  'InvalidArgument', // bad URI, option or range: fix the call
  'NotFound', // bucket, container, key or file does not exist
  'AccessDenied', // credentials missing, wrong or not allowed
  'PreconditionFailed', // the object changed (ETag/generation no longer matches)
  'Aborted', // the caller's AbortSignal fired
  'Timeout', // a range stalled or the retry budget ran out on timeouts
  'IntegrityError', // bytes or length do not match what the service promised
  'Unavailable', // the service kept failing (5xx, throttling, resets) past the retry budget
  'Unsupported', // the platform or filesystem cannot do what was asked (e.g. O_DIRECT)
  'LocalIO', // a local file or stream could not be written: disk full, permission denied, broken pipe
  'Internal', // a bug or an unexpected state in rangepool itself
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['Unavailable', 'Timeout']);

/**
 * Marks every RangepoolError, whichever copy of this module made it: a bundler, tsx in a CommonJS app or a
 * nested node_modules can load this file twice, and a class from one copy is not the other's.
 */
const BRAND = Symbol.for('rangepool.error');

export class RangepoolError extends Error {
  /** `instanceof RangepoolError` holds for an error from any copy of rangepool (see BRAND). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  override readonly name = 'RangepoolError';
  readonly code: ErrorCode;
  readonly uri: string | undefined;
  /** Whether another attempt may succeed (the engine retries these). */
  readonly retryable: boolean;
  /** The service said to slow down (HTTP 503 SlowDown, 429): the engine lowers its requests in flight to that host. */
  readonly throttled: boolean;

  /**
   * `uri`, the message and the cause's chain are redacted (a signed URL's credentials never show, not even
   * in a TypeError's `input` that util.inspect prints); a cause that needed no redaction is kept as it is.
   */
  constructor(code: ErrorCode, message: string, opts: { uri?: string; cause?: unknown; retryable?: boolean; throttled?: boolean } = {}) {
    const uri = opts.uri === undefined ? undefined : redactUri(opts.uri);
    super(redactText(uri ? `${message} (${uri})` : message), { cause: redactedCause(opts.cause) });
    this.code = code;
    this.uri = uri;
    this.retryable = opts.retryable ?? RETRYABLE.has(code);
    this.throttled = opts.throttled ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * An error with every URL in its own string properties (message, stack, input, ...) and down its cause
 * chain redacted: a copy of the same class, or the error itself where nothing needed it.
 */
function redactedCause(cause: unknown, depth = 0): unknown {
  if (!(cause instanceof Error) || cause instanceof RangepoolError || depth > 8) return cause; // ours: redacted when made
  const changed = new Map<string, unknown>();
  for (const key of Object.getOwnPropertyNames(cause)) {
    const value = Object.getOwnPropertyDescriptor(cause, key)?.value as unknown;
    const redacted = typeof value === 'string' ? redactText(value) : key === 'cause' ? redactedCause(value, depth + 1) : value;
    if (redacted !== value) changed.set(key, redacted);
  }
  if (changed.size === 0) return cause;
  const copy = Object.create(Object.getPrototypeOf(cause) as object) as Error;
  for (const key of Object.getOwnPropertyNames(cause)) {
    const d = Object.getOwnPropertyDescriptor(cause, key)!;
    Object.defineProperty(copy, key, changed.has(key) ? { ...d, value: changed.get(key) } : d);
  }
  return copy;
}

export function isRangepoolError(e: unknown, code?: ErrorCode): e is RangepoolError {
  return e instanceof RangepoolError && (code === undefined || e.code === code);
}

/** The one error every abort becomes: `Aborted`, with the signal's reason as the cause. */
export function abortedError(signal: AbortSignal, uri?: string, what = 'the operation'): RangepoolError {
  return new RangepoolError('Aborted', `${what} was aborted`, { uri, cause: signal.reason });
}

export function invalidArgument(message: string, uri?: string): RangepoolError {
  return new RangepoolError('InvalidArgument', message, { uri });
}

/** Text from a server, safe to print: control characters (ESC, CR, ...) shown as \xNN escapes. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
