// A checksum of the bytes as received, on any server (`download({ digest })`, the CLI's --checksum, as
// aria2c --checksum and sha256sum): where `verify` needs the service's own checksum, this needs nothing.
// Positional writes land out of order, so a file's digest is read back from it (from the page cache, just
// written) before it takes its final name; a stream's is taken in order as it goes.
import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '../crc32c.js';
import { invalidArgument } from '../errors.js';
import { readFile } from './file-checksum.js';

export const DIGESTS = ['sha256', 'sha1', 'md5', 'crc32c'] as const;
export type Digest = (typeof DIGESTS)[number];

export function isDigest(name: string): name is Digest {
  return (DIGESTS as readonly string[]).includes(name);
}

/** A digest taken in order: `value()` in hex (as sha256sum, md5sum; crc32c as 8 hex digits). */
export class Digester {
  private readonly hash: Hash | undefined;
  private crc = 0;

  constructor(readonly algorithm: Digest) {
    this.hash = algorithm === 'crc32c' ? undefined : createHash(algorithm);
  }

  update(bytes: Uint8Array): void {
    if (this.hash) this.hash.update(bytes);
    else this.crc = crc32c(bytes, this.crc);
  }

  value(): string {
    return this.hash ? this.hash.digest('hex') : (this.crc >>> 0).toString(16).padStart(8, '0');
  }
}

/** The digest of the first `size` bytes of `fd` (of fewer, where the file is shorter: the digest says so). */
export function fileDigest(fd: number, size: number, algorithm: Digest): string {
  const d = new Digester(algorithm);
  readFile(fd, size, (bytes) => d.update(bytes));
  return d.value();
}

/** Whether a hex `value` is the `expected` one, given in hex or base64 (as S3 and GCS print theirs). */
export function sameDigest(value: string, expected: string): boolean {
  const want = expected.trim();
  if (/^[0-9a-f]+$/i.test(want) && want.length === value.length) return want.toLowerCase() === value;
  return Buffer.from(want, 'base64').toString('hex') === value;
}

/** `ALGO` or `ALGO=VALUE` (the CLI's --checksum). */
export function parseDigest(text: string): { algorithm: Digest; expected?: string } {
  const [name = '', expected] = text.split('=', 2);
  const algorithm = name.toLowerCase();
  if (!isDigest(algorithm)) throw invalidArgument(`--checksum takes ${DIGESTS.join(', ')} (optionally =VALUE to check), got ${JSON.stringify(text)}`);
  if (expected !== undefined && !/^([0-9a-f]+|[A-Za-z0-9+/]+={0,2})$/i.test(expected)) throw invalidArgument(`--checksum ${algorithm}= takes the value in hex or base64, got ${JSON.stringify(expected)}`);
  return expected === undefined ? { algorithm } : { algorithm, expected };
}
