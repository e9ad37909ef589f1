// The server's objects: buckets of keys in memory, each with its ETag, date and (lazily) checksums.
import { createHash } from 'node:crypto';
import { checksumHeader, crc32c, crc64nvme } from './checksums.js';

export interface StoredObject {
  data: Buffer;
  etag: string;
  lastModified: Date;
  crc32c?: string;
  crc64nvme?: string;
  /** Which checksums the server reveals (default both). Real S3 keeps CRC64NVME by default and CRC32C only when asked. */
  serveChecksums?: ('crc32c' | 'crc64nvme')[];
}

export class Storage {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();
  /** One MD5 and one of each CRC per body: the same bytes stored under many keys are hashed once. */
  private readonly md5 = new WeakMap<Buffer, string>();
  private readonly crcs = new WeakMap<Buffer, { crc32c?: string; crc64nvme?: string }>();

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  createBucket(bucket: string): void {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  put(bucket: string, key: string, data: Buffer): StoredObject {
    this.createBucket(bucket);
    const etag = `"${(this.md5.get(data) ?? this.md5.set(data, createHash('md5').update(data).digest('hex')).get(data))!}"`;
    const obj = { data, etag, lastModified: new Date(Math.floor(Date.now() / 1000) * 1000) };
    this.buckets.get(bucket)!.set(key, obj);
    return obj;
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  delete(bucket: string, key: string): boolean {
    return this.buckets.get(bucket)?.delete(key) ?? false;
  }

  /** Keys under `prefix` after `after`, sorted, as S3 lists them. */
  keys(bucket: string, prefix: string, after: string): string[] {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix) && k > after).sort();
  }

  /** The checksum headers of a GET with x-amz-checksum-mode: ENABLED. */
  checksumHeaders(obj: StoredObject): Record<string, string> {
    const serve = obj.serveChecksums ?? ['crc32c', 'crc64nvme'];
    const headers: Record<string, string> = { 'x-amz-checksum-type': 'FULL_OBJECT' };
    let known = this.crcs.get(obj.data);
    if (!known) this.crcs.set(obj.data, (known = {}));
    if (serve.includes('crc32c')) headers['x-amz-checksum-crc32c'] = obj.crc32c ??= known.crc32c ??= checksumHeader(crc32c(obj.data));
    if (serve.includes('crc64nvme')) headers['x-amz-checksum-crc64nvme'] = obj.crc64nvme ??= known.crc64nvme ??= checksumHeader(crc64nvme(obj.data));
    return headers;
  }
}
