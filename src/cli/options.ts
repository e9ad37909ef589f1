// The switches the commands share, and what they turn into: store options, a pool, an engine.
import type { Command } from 'commander';
import { MIN_PART_SIZE, RangeEngine } from '../engine/engine.js';
import { invalidArgument } from '../errors.js';
import { BufferPool, defaultPool } from '../pool/index.js';
import type { StoreOptions } from '../stores/registry.js';
import { DIGESTS, parseDigest, type Digest } from '../files/digest.js';
import { parseInterval } from './progress.js';
import { parseSize } from './sizes.js';

export interface Common {
  /** undefined unless a switch was given (commander leaves the default unset when both forms exist). */
  bufferPool?: boolean;
  bufferPoolSize?: number;
  partSize?: number;
  concurrency?: number;
  threads?: number;
  endpoint?: string;
  endpointUrl?: string;
  region?: string;
  profile?: string;
  /** false with --no-sign-request. */
  signRequest?: boolean;
  /** false with --no-resume. */
  resume?: boolean;
  verify?: boolean;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  range?: ByteRange;
  /** --limit-rate (or --bwlimit): bytes per second over everything this command reads. */
  limitRate?: number;
  bwlimit?: number;
  /** --trust-last-modified: ranges and resume of an object with no ETag held to its date and size. */
  trustLastModified?: boolean;
  /** --checksum ALGO[=VALUE]. */
  checksum?: { algorithm: Digest; expected?: string };
  /** --direct: files written with O_DIRECT. */
  direct?: boolean;
}

/** --range: bytes START to END inclusive, START to the end, or the last N (as curl -r and HTTP Range). */
export type ByteRange = { start: number; end?: number } | { last: number };

export function parseByteRange(text: string): ByteRange {
  const m = /^(\d*)-(\d*)$/.exec(text.trim());
  const [start, end] = [m?.[1], m?.[2]].map((d) => (d ? Number(d) : undefined));
  if (!m || (start === undefined && end === undefined) || [start, end].some((n) => n !== undefined && !Number.isSafeInteger(n)) || (start !== undefined && end !== undefined && end < start)) {
    throw invalidArgument(`--range must be START-END (inclusive), START- or -N (the last N bytes), got ${JSON.stringify(text)}`);
  }
  return start === undefined ? { last: end! } : { start, end };
}

/** A whole number of at least `min` (0 for counts that may be zero, 1 for ones that may not). */
export const wholeNumber = (what: string, min: 0 | 1) => (text: string) => {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw invalidArgument(`${what} must be a whole number${min ? ' of at least 1' : ''}, got ${JSON.stringify(text)}`);
  }
  return n;
};

/** --part-size, said in the switch's own terms (the engine's check names its option, partSize). */
function partSize(text: string): number {
  const n = parseSize(text, '--part-size');
  if (n < MIN_PART_SIZE) throw invalidArgument(`--part-size must be at least 64KiB (smaller requests cost more in round trips than they save), got ${JSON.stringify(text)}`);
  return n;
}

/** Where the service is, and as whom. */
function withConnection(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'S3 or GCS endpoint (default: AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST)')
    .option('--endpoint-url <url>', 'the same as --endpoint (the aws-cli name)')
    .option('--region <region>', "S3 region (default: AWS_REGION, the profile's region, else us-east-1)")
    .option('--profile <name>', 'AWS shared config profile (default: AWS_PROFILE, else the default chain)')
    .option('--no-sign-request', 'S3: send requests unsigned, for public buckets (no credentials needed)')
    .option('--debug', 'print stack traces');
}

/** --limit-rate: a size per second, at least 1K. */
function limitRate(text: string, what: string): number {
  const n = parseSize(text.replace(/\/s$/i, ''), what);
  if (n < 1024) throw invalidArgument(`${what} must be at least 1K (bytes per second), got ${JSON.stringify(text)}`);
  return n;
}

/** Switches every command that prints a result takes: where the service is, and how to print. */
export function withService(cmd: Command): Command {
  return withConnection(cmd).option('--json', 'machine-readable output');
}

/** How ranges are fetched. */
function withRanges(cmd: Command): Command {
  return cmd
    .option('--buffer-pool', 'reuse pooled off-heap buffers (default)')
    .option('--no-buffer-pool', 'allocate a fresh buffer for every download')
    .option('--buffer-pool-size <n>', 'at most this many idle buffers per size class (default: as many as the transfer held at once)', wholeNumber('--buffer-pool-size', 0))
    .option('--part-size <size>', 'bytes per ranged request, e.g. 8MiB (at least 64KiB; default 16MiB)', partSize)
    .option('--concurrency <n>', 'ranges of one object in flight (default: adaptive, as many as add throughput)', wholeNumber('--concurrency', 1))
    .option('--threads <n>', 'worker threads that read ranges (default RANGEPOOL_THREADS, else 0 on up to 4 cores, half the cores beyond, at most 8)', wholeNumber('--threads', 0))
    .option('--verify', "check the service's whole-object checksum")
    .option('--limit-rate <rate>', 'at most this many bytes per second over everything read, e.g. 50M (K, M, G as curl: 1024s), held over a second or two', (t) => limitRate(t, '--limit-rate'))
    .option('--bwlimit <rate>', 'the same as --limit-rate (the rclone name)', (t) => limitRate(t, '--bwlimit'))
    .option('--range <START-END>', 'only these bytes: START-END inclusive, START- to the end, -N the last N', parseByteRange)
    .option('--checksum <algo[=value]>', `a checksum of the bytes received, on any server (${DIGESTS.join(', ')}), printed; with =VALUE (hex or base64) checked: a mismatch is an error and no file`, parseDigest);
}

/** What `cat` takes: where, as whom, how ranges are fetched (its output is the object alone). */
export function withStream(cmd: Command): Command {
  return withRanges(withConnection(cmd));
}

/** Switches of `get`: how ranges are fetched, where their bytes go, and what is said meanwhile. */
export function withDownload(cmd: Command): Command {
  return withRanges(withService(cmd))
    .option('--no-resume', 'start over instead of continuing what an interrupted run left, and keep nothing on failure')
    .option('--direct', 'write files with O_DIRECT (Linux): no second copy into the page cache, for files larger than it; refused on ramfs and older tmpfs')
    .option('--trust-last-modified', "a URL whose server sends no ETag: read it in ranges, and continue an interrupted download, held to its Last-Modified date and size (as curl -C -). Exact only if the server changes the date whenever the bytes change, more than a second apart")
    .option('--progress', 'progress even with -q: the bar on a terminal, else a line every --stats')
    .option('--no-progress', 'no progress: neither the bar on a terminal nor the lines in a log')
    .option('--stats <interval>', 'where stderr is not a terminal, a progress line this often, e.g. 10s, 1m, 0 for none (default 10s)', parseInterval)
    .option('-q, --quiet', 'no progress or summary (objects not written are still named)');
}

export function storeOptions(o: Common): StoreOptions {
  const endpoint = o.endpoint ?? o.endpointUrl;
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(o.region ? { region: o.region } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.signRequest === false ? { anonymous: true } : {}),
    ...(o.trustLastModified ? { datePinnedRanges: true } : {}),
  };
}

/** The pool the switches ask for (the default pool keeps idle what the transfer held at once: retention follows the load). */
export function poolFor(o: Common): BufferPool {
  if (o.bufferPool === false) return new BufferPool({ idlePerClass: 0 }); // every block fresh from the OS, unmapped on release
  if (o.bufferPoolSize !== undefined) return new BufferPool({ idlePerClass: o.bufferPoolSize });
  return defaultPool();
}

export function engineFor(o: Common): RangeEngine {
  const cap = o.limitRate ?? o.bwlimit;
  return new RangeEngine({ ...(o.partSize ? { partSize: o.partSize } : {}), ...(o.concurrency ? { concurrency: o.concurrency } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(cap ? { maxBytesPerSecond: cap } : {}) });
}

/** Checksums as S3 publishes them (x-amz-checksum-*): base64 of the big-endian value; MD5 as it came (base64). */
export function printedChecksums(c: { crc32c?: number | undefined; crc64nvme?: bigint | undefined; md5?: string | undefined }): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.crc32c !== undefined) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(c.crc32c >>> 0);
    out.crc32c = b.toString('base64');
  }
  if (c.crc64nvme !== undefined) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, c.crc64nvme));
    out.crc64nvme = b.toString('base64');
  }
  if (c.md5 !== undefined) out.md5 = c.md5;
  return out;
}

/** JSON, checksums in S3's form (above). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (k, v: unknown) => (k === 'checksums' && v && typeof v === 'object' ? printedChecksums(v) : typeof v === 'bigint' ? v.toString() : v), 2);
}
