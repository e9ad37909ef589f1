import type { Landing } from '../http/connection.js';
import type { TlsPath } from '../http/socket-contract.js';
import type { Pool } from '../pool/types.js';
import type { RangeThreads } from '../threads/range-threads.js';
import type { RateLimit } from '../engine/rate-limit.js';
import type { Location } from '../uri.js';

/** What `stat` (or the first ranged response) learns about an object; the engine pins every range to `etag`/`generation`. */
export interface ObjectMeta {
  size: number;
  etag?: string | undefined;
  /** GCS object generation. */
  generation?: string | undefined;
  lastModified?: Date | undefined;
  /** Whole-object checksums the service keeps, when it has them. */
  checksums?: { crc32c?: number; crc64nvme?: bigint; md5?: string } | undefined;
}

export interface ReadOptions {
  /** The version every range must come from: a store sends If-Match or the generation, and checks what was served. */
  version: ObjectMeta;
  signal: AbortSignal;
  /** Called as bytes land in the target, with how many (the engine resumes from there after a failure). */
  onData: (bytes: number) => void;
  /** The download's pool, for any scratch memory a store needs (it counts against the caller's cap). */
  pool: Pool;
  /** Where the direct transport reads bodies: these range threads, or (undefined) this thread. */
  threads?: RangeThreads | undefined;
  /** The engine's bandwidth cap (maxBytesPerSecond): a body is read no faster than it allows. */
  limit?: RateLimit | undefined;
  /** Told, for each response over https: on the direct transport, how its body is decrypted. */
  onTls?: ((path: TlsPath) => void) | undefined;
}

export interface FirstReadOptions extends Omit<ReadOptions, 'version'> {
  /** Only this ETag will do (If-Match on the request, and checked against the response). */
  ifMatch?: string | undefined;
  /**
   * Called once, when the response head says what the object is and which bytes the response carries
   * (fewer than asked at the end of the object; from 0 to the end when the server ignores ranges).
   * Returns where those `span.length` bytes go (a landing only where the store has readRangeLanding and
   * no range threads read).
   */
  target: (meta: ObjectMeta, span: { start: number; length: number }) => Promise<Buffer | Landing>;
}

export interface ListEntry {
  key: string;
  size: number;
  etag?: string | undefined;
  lastModified?: Date | undefined;
  /** Listed with a delimiter: a folder (its key ends in '/'; size 0), the keys below it not listed. */
  folder?: true | undefined;
}

/** One page of a listing, and the cursor of the next (undefined on the last page). */
export interface ListPage {
  entries: ListEntry[];
  /** With a delimiter: the folders of this page (key, up to and including the delimiter). */
  folders?: string[] | undefined;
  next?: string | undefined;
}

/** The most keys a store asks for per page (S3's own maximum). */
export const LIST_PAGE_KEYS = 1000;
/** A list page's body is abandoned past this: 1,000 keys of S3's longest (1 KiB) fit in about 1.5 MiB. */
export const LIST_BODY_LIMIT = 4 * 1024 * 1024;

/** How an HTTP store fetches ranges: its own HTTP/1.1 reader straight into pooled memory, or the cloud's SDK. */
export type Transport = 'direct' | 'sdk';

/**
 * A store only translates: "how big is this object" and "write bytes [start, start + target.length)
 * of it into target, in order, as they arrive". Retries, concurrency, pinning policy, checks and
 * progress live once, in the engine. Errors are RangepoolErrors (see errors.ts); `retryable` on one
 * tells the engine a new attempt may succeed.
 */
export interface Store {
  stat(loc: Location, signal?: AbortSignal): Promise<ObjectMeta>;
  readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void>;
  /**
   * Optional: bytes [start, start + length) and the object's meta from one request, so a download needs
   * no stat in front of it (an object that fits in one part costs one request).
   */
  readFirst?(loc: Location, start: number, length: number, opts: FirstReadOptions): Promise<ObjectMeta>;
  /**
   * Optional (the direct transport): readRange into a landing's ring of small blocks instead of one buffer
   * of the range's size (download() to a file). Not with range threads (`opts.threads`).
   */
  readRangeLanding?(loc: Location, start: number, landing: Landing, opts: ReadOptions): Promise<void>;
  /** The block alignment readRange needs for offset, length and memory (O_DIRECT), if any. */
  readonly alignment?: number | undefined;
  /** For HTTP stores, which transport reads ranges. */
  readonly transport?: Transport | undefined;
  /** Connections per host, where the store caps them: the adaptive in-flight limit stays within it. */
  readonly maxSockets?: number | undefined;
  /** Ranges of an object with only a Last-Modified date may be pinned to that date (opted in; see engine/pin.ts). */
  readonly datePinnedRanges?: boolean | undefined;
  /** One page of the keys under `prefix`, starting at `cursor` (from the previous page; undefined for the first). */
  /** One page of the keys under `prefix`; with `delimiter` ('/'), keys below a further '/' come as folders instead. */
  listPage(prefix: Location, cursor: string | undefined, signal: AbortSignal, delimiter?: '/'): Promise<ListPage>;
}
