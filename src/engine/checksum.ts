// Whole-object checksums computed per part as bytes land, then combined: verification needs no second
// pass over memory (except MD5, which cannot be combined and is used only where nothing else exists).
import { createHash } from 'node:crypto';
import { crc32c, crc32cCombine } from '../crc32c.js';
import { crc64nvme, crc64nvmeCombine } from '../crc64nvme.js';
import { RangepoolError } from '../errors.js';
import type { ObjectMeta } from '../stores/store.js';

/** Whole-object checksums the engine can check, cheapest first. */
export type Checksum = 'crc32c' | 'crc64nvme' | 'md5';
export const CHECKSUMS: readonly Checksum[] = ['crc32c', 'crc64nvme', 'md5'];

/** Which checksum `verify` checks for this object (false: none), or Unsupported when required and impossible. */
export function checksumFor(verify: boolean | 'require' | undefined, meta: ObjectMeta, whole: boolean, uri: string): Checksum | false {
  if (!verify) return false;
  const kind = CHECKSUMS.find((k) => meta.checksums?.[k] !== undefined);
  if (kind && whole) return kind;
  if (verify === 'require') {
    throw new RangepoolError('Unsupported', whole ? 'the service keeps no whole-object checksum for this object: read it without verify (--verify)' : 'a partial range cannot be checked against a whole-object checksum: read it without verify (--verify)', { uri });
  }
  return false;
}

/** The running CRC of one part's bytes, in order. */
export class PartCrc {
  private c32 = 0;
  private c64 = 0n;

  constructor(readonly kind: Checksum | false) {}

  /** The CRC so far, apart (to go back to if the bytes after it are taken back). */
  copy(): PartCrc {
    return Object.assign(new PartCrc(this.kind), { c32: this.c32, c64: this.c64 });
  }

  update(bytes: Uint8Array): void {
    if (this.kind === 'crc32c') this.c32 = crc32c(bytes, this.c32);
    else if (this.kind === 'crc64nvme') this.c64 = crc64nvme(bytes, this.c64);
  }

  /** Combines the parts' CRCs in order (lengths in bytes) into the whole object's. */
  static combine32(parts: Array<{ crc: PartCrc; length: number }>): number {
    return parts.reduce((acc, p) => crc32cCombine(acc, p.crc.c32, p.length), 0);
  }

  static combine64(parts: Array<{ crc: PartCrc; length: number }>): bigint {
    return parts.reduce((acc, p) => crc64nvmeCombine(acc, p.crc.c64, p.length), 0n);
  }
}

/** Whether the bytes received match the checksum the service keeps. */
export function checksumMatches(kind: Checksum, meta: ObjectMeta, buffer: Buffer, parts: Array<{ crc: PartCrc; length: number }>): boolean {
  if (kind === 'crc32c') return PartCrc.combine32(parts) === meta.checksums!.crc32c;
  if (kind === 'crc64nvme') return PartCrc.combine64(parts) === meta.checksums!.crc64nvme;
  return createHash('md5').update(buffer).digest('base64') === meta.checksums!.md5;
}
