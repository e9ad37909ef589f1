// The small pure modules on their own, without servers: every branch that decides something.
import { optionsKey } from '../src/stores/options-key.js';
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../src/cli/sizes.js';
import { filterKeys } from '../src/cli/filters.js';
import { formatDuration } from '../src/cli/progress.js';
import { Extents } from '../src/files/extents.js';
import { Limiter } from '../src/engine/limiter.js';
import { planParts } from '../src/engine/plan.js';
import { backoffMs } from '../src/engine/retry.js';
import { RangepoolError } from '../src/errors.js';
import { redactUri } from '../src/redact.js';
import { checkContentRange } from '../src/stores/body.js';
import { httpError } from '../src/stores/http-errors.js';

describe('planParts', () => {
  it('splits at multiples of partSize from the start, the last part shorter', () => {
    expect(planParts(10, 25, 10, 5).map((p) => [p.start, p.end, p.offset])).toEqual([
      [10, 19, 0],
      [20, 29, 10],
      [30, 34, 20],
    ]);
  });
  it('below singleRequestBelow the whole span is one part; nothing for an empty span', () => {
    expect(planParts(0, 7, 2, 8)).toEqual([{ index: 0, start: 0, end: 6, offset: 0 }]);
    expect(planParts(5, 0, 2, 8)).toEqual([]);
  });
});

describe('backoffMs', () => {
  const opts = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  it('is full jitter below base·2^attempt, capped at maxDelayMs', () => {
    expect(backoffMs(0, opts, () => 0.5)).toBe(50);
    expect(backoffMs(2, opts, () => 0.5)).toBe(200);
    expect(backoffMs(10, opts, () => 0.999)).toBe(999);
    expect(backoffMs(3, opts, () => 0)).toBe(0);
  });
});

describe('Limiter', () => {
  it('holds at most `limit`, hands slots over in FIFO order, and a waiter can abort', async () => {
    const l = new Limiter(1);
    const give = await l.take();
    const order: number[] = [];
    const a = l.take().then((g) => (order.push(1), g));
    const ac = new AbortController();
    const b = l.take(ac.signal);
    const c = l.take().then((g) => (order.push(3), g));
    ac.abort(new Error('no'));
    await expect(b).rejects.toMatchObject({ code: 'Aborted' });
    give();
    (await a)();
    (await c)();
    expect(order).toEqual([1, 3]);
  });
});

describe('checkContentRange', () => {
  const check = (h: string | undefined) => () => checkContentRange(h, 10, 19, 100, 'u');
  it('accepts exactly the range asked for, with the size or *', () => {
    expect(check('bytes 10-19/100')).not.toThrow();
    expect(check('bytes 10-19/*')).not.toThrow();
  });
  it.each([
    [undefined, 'IntegrityError'],
    ['junk', 'IntegrityError'],
    ['bytes 11-20/100', 'IntegrityError'],
    ['bytes 10-18/100', 'IntegrityError'],
    ['bytes 10-19/101', 'PreconditionFailed'],
  ])('%s is %s', (h, code) => {
    expect(check(h)).toThrow(expect.objectContaining({ code }));
  });
});

describe('httpError', () => {
  it.each([
    [404, 'NotFound', false],
    [403, 'AccessDenied', false],
    [401, 'AccessDenied', false],
    [412, 'PreconditionFailed', false],
    [409, 'PreconditionFailed', false],
    [416, 'InvalidArgument', false],
    [400, 'InvalidArgument', false],
    [429, 'Unavailable', true],
    [503, 'Unavailable', true],
    [500, 'Unavailable', true],
  ])('HTTP %i is %s (retryable %s)', (status, code, retryable) => {
    expect(httpError('u', new Error('x'), status)).toMatchObject({ code, retryable, uri: 'u' });
  });
  it('socket errors are retryable Unavailable; certificate errors AccessDenied; a RangepoolError passes through', () => {
    expect(httpError('u', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), undefined)).toMatchObject({ code: 'Unavailable', retryable: true });
    expect(httpError('u', Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), undefined)).toMatchObject({ code: 'AccessDenied' });
    const own = new RangepoolError('Timeout', 't');
    expect(httpError('u', own, 500)).toBe(own);
  });
});

describe('parseSize', () => {
  it.each([
    ['8MiB', 8 << 20],
    ['8M', 8 << 20],
    ['8MB', 8_000_000],
    ['1.5MiB', 1.5 * (1 << 20)],
    ['4096', 4096],
  ])('%s is %d bytes', (text, n) => expect(parseSize(text)).toBe(n));
  it.each(['0', '-1', '1.5', 'lots', '8XB', ''])('%j is refused', (text) => {
    expect(() => parseSize(text)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

describe('optionsKey', () => {
  it('plain data by value; functions and class instances by identity', () => {
    const f = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' });
    const g = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' });
    expect(optionsKey({ endpoint: 'x', credentials: { accessKeyId: 'a' } })).toBe(optionsKey({ endpoint: 'x', credentials: { accessKeyId: 'a' } }));
    expect(optionsKey({ credentials: f })).toBe(optionsKey({ credentials: f }));
    expect(optionsKey({ credentials: f })).not.toBe(optionsKey({ credentials: g }));
    expect(optionsKey({ credentials: f })).not.toBe(optionsKey({}));
    class Client {}
    const a = new Client();
    expect(optionsKey({ client: a })).toBe(optionsKey({ client: a }));
    expect(optionsKey({ client: a })).not.toBe(optionsKey({ client: new Client() }));
    expect(optionsKey(undefined)).toBe(optionsKey({}));
  });
});

describe('redactUri', () => {
  it('replaces the credential values of S3, GCS, Azure and CloudFront signed URLs, and keeps the rest', () => {
    const s3 = 'https://b.s3.amazonaws.com/k.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261202&X-Amz-Date=20261202T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=TOK&X-Amz-Signature=abc123&X-Amz-SignedHeaders=host&versionId=7';
    expect(redactUri(s3)).toBe('https://b.s3.amazonaws.com/k.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20261202T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&X-Amz-SignedHeaders=host&versionId=7');
    expect(redactUri('https://storage.googleapis.com/b/k?X-Goog-Credential=sa%40p&X-Goog-Signature=ff00')).toBe('https://storage.googleapis.com/b/k?X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED');
    expect(redactUri('https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-03&sp=r&sig=Zm9v%3D')).toBe('https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-03&sp=r&sig=REDACTED');
    expect(redactUri('https://d.cloudfront.net/m?Expires=1&Signature=s~x&Key-Pair-Id=K1&Policy=p')).toBe('https://d.cloudfront.net/m?Expires=1&Signature=REDACTED&Key-Pair-Id=REDACTED&Policy=REDACTED');
  });
  it('hides user info and fragments; leaves other URIs and unsigned URLs alone', () => {
    expect(redactUri('https://u:p@h/x?a=1#access_token=t')).toBe('https://REDACTED@h/x?a=1#REDACTED');
    expect(redactUri('https://h/x?a=1&b')).toBe('https://h/x?a=1&b');
    expect(redactUri('s3://b/k?sig=1')).toBe('s3://b/k?sig=1');
    expect(redactUri('/next?X-Goog-Signature=1&x=2')).toBe('/next?X-Goog-Signature=REDACTED&x=2'); // a relative Location
  });
  it('RangepoolError redacts its uri and every URL in its message; the cause stays as it was', () => {
    const cause = new Error('raw');
    const e = new RangepoolError('InvalidArgument', 'redirected to https://h/y?X-Amz-Signature=s2', { uri: 'https://h/x?X-Amz-Signature=s1', cause });
    expect(e.uri).toBe('https://h/x?X-Amz-Signature=REDACTED');
    expect(`${String(e)} ${e.stack}`).not.toMatch(/s1|s2/);
    expect(e.message).toBe('redirected to https://h/y?X-Amz-Signature=REDACTED (https://h/x?X-Amz-Signature=REDACTED)');
    expect(e.cause).toBe(cause);
  });
});

describe('RangepoolError identity', () => {
  it('an error from another copy of the module is instanceof this one and passes isRangepoolError (tsx in CJS, bundlers, nested node_modules)', async () => {
    const copy = (await import(/* @vite-ignore */ `../src/errors.ts?copy=${Date.now()}`)) as typeof import('../src/errors.js');
    const here = await import('../src/errors.js');
    expect(copy.RangepoolError).not.toBe(here.RangepoolError); // really two classes
    const e = new copy.RangepoolError('NotFound', 'x');
    expect(e instanceof here.RangepoolError).toBe(true);
    expect(here.isRangepoolError(e, 'NotFound')).toBe(true);
    expect(new Error('x') instanceof here.RangepoolError).toBe(false);
    expect(Object.assign(new Error('x'), { code: 'NotFound' }) instanceof here.RangepoolError).toBe(false);
  });
});

describe('--include / --exclude (aws-cli order, fnmatch patterns)', () => {
  it.each([
    [[], 'a/b.bin', true],
    [[{ include: false, pattern: '*' }], 'a/b.bin', false],
    [[{ include: false, pattern: '*' }, { include: true, pattern: '*.safetensors' }], 'model/x/w.safetensors', true], // * crosses /
    [[{ include: true, pattern: '*.safetensors' }, { include: false, pattern: '*' }], 'w.safetensors', false], // the last match decides
    [[{ include: false, pattern: 'shard-0[0-4]?.bin' }], 'shard-031.bin', false],
    [[{ include: false, pattern: 'shard-0[!0-4]?.bin' }], 'shard-031.bin', true],
    [[{ include: false, pattern: 'a.b' }], 'axb', true], // '.' is literal
    [[{ include: false, pattern: '[' }], '[', false], // an unclosed [ is literal
  ] as const)('%j on %s is %s', (filters, key, kept) => {
    expect(filterKeys(filters)(key)).toBe(kept);
  });
});

describe('Extents', () => {
  it('merges runs that touch or overlap, in any order, and says what is missing', () => {
    const e = new Extents();
    e.add(10, 5);
    e.add(30, 10);
    e.add(15, 5); // touches [10,15)
    e.add(0, 2);
    e.add(35, 10); // overlaps [30,40)
    expect(e.toJSON()).toEqual([
      [0, 2],
      [10, 20],
      [30, 45],
    ]);
    expect(e.bytes).toBe(27);
    expect(e.missing(50)).toEqual([
      { start: 2, length: 8 },
      { start: 20, length: 10 },
      { start: 45, length: 5 },
    ]);
    e.add(0, 50);
    expect(e.toJSON()).toEqual([[0, 50]]);
    expect(e.missing(50)).toEqual([]);
  });
});

describe('formatDuration and formatSize', () => {
  it.each([
    [0.4, '0s'],
    [59, '59s'],
    [61, '1m01s'],
    [3725, '1h02m'],
  ])('%s s is %s', (s, text) => expect(formatDuration(s)).toBe(text));
  it('bytes are whole, larger units one decimal', () => {
    expect(formatSize(140.158042741596)).toBe('140 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
  });
});
