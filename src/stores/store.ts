import type { Location } from '../uri.js';

/** What `stat` learns about an object; the engine pins every range to `etag`/`generation`. */
export interface ObjectMeta {
  size: number;
  etag?: string;
  /** GCS object generation. */
  generation?: string;
  lastModified?: Date;
  /** Whole-object checksums the service keeps, when it has them. */
  checksums?: { crc32c?: number; crc64nvme?: bigint; md5?: string };
}

export interface ReadOptions {
  /** The version every range must come from (from stat): a store sends If-Match or the generation. */
  version: ObjectMeta;
  signal: AbortSignal;
  /** Called as bytes land in the target, with how many (the engine resumes from there after a failure). */
  onData: (bytes: number) => void;
}

export interface ListEntry {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

/**
 * A store only translates: "how big is this object" and "write bytes [start, start + target.length)
 * of it into target, in order, as they arrive". Retries, concurrency, pinning policy, checks and
 * progress live once, in the engine. Errors are RangepoolErrors (see errors.ts); `retryable` on one
 * tells the engine a new attempt may succeed.
 */
export interface Store {
  stat(loc: Location, signal?: AbortSignal): Promise<ObjectMeta>;
  readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void>;
  /** The block alignment readRange needs for offset, length and memory (O_DIRECT), if any. */
  readonly alignment?: number;
  put(loc: Location, data: Uint8Array): Promise<void>;
  list(prefix: Location): Promise<ListEntry[]>;
  delete(loc: Location): Promise<void>;
}
