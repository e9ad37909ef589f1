// Presigning a GET through the SDK (getSignedUrl) runs its whole middleware stack for each object:
// endpoint rules, serialization, then the signature; 0.3-0.7 ms of CPU each, most of what a folder of
// small objects costs a fresh process. Once the SDK's own URL for a first key of a bucket is re-created
// exactly by its presigner alone (the same query and signature from the same date), the next keys of that
// bucket are signed that way: the SDK's path with the key swapped, its query kept, 0.1 ms each. Anything
// that is not re-created exactly (another algorithm, an endpoint that does not end in the key) keeps
// getSignedUrl for every key.
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';

export interface KeySigner {
  /** A presigned GET of `key` in the bucket this signer was made for (`signingDate` for tests). */
  sign(key: string, expiresIn: number, signingDate?: Date): Promise<string>;
}

/** The SDK's escaping of a key in a path: each segment as encodeURIComponent, and !'()* too. */
export function escapeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** What the presigner adds itself; every other query parameter of the SDK's URL is kept as it is. */
const SIGNING = /^X-Amz-(Algorithm|Content-Sha256|Credential|Date|Expires|Signature|SignedHeaders|Security-Token)$/;

/** X-Amz-Date (20261207T165255Z) as a Date. */
function amzDate(s: string | null): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/**
 * A signer for the keys of the bucket that `signed` (the SDK's presigned URL for `key`) is in, or
 * undefined where the SDK's URL cannot be re-created exactly.
 */
export async function keySigner(Presigner: typeof S3RequestPresigner, client: S3Client, signed: string, key: string): Promise<KeySigner | undefined> {
  const url = new URL(signed);
  const suffix = `/${escapeKey(key)}`;
  const date = amzDate(url.searchParams.get('X-Amz-Date'));
  const expires = Number(url.searchParams.get('X-Amz-Expires'));
  if (!url.pathname.endsWith(suffix) || url.searchParams.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !date || !(expires > 0)) return undefined;
  const kept = [...url.searchParams].filter(([k]) => !SIGNING.test(k));
  const query = Object.fromEntries(kept);
  if (Object.keys(query).length !== kept.length) return undefined; // a parameter twice: not a record
  const prefix = url.pathname.slice(0, -suffix.length);
  const presigner = new Presigner({ ...client.config });
  const presign = async (path: string, expiresIn: number, signingDate?: Date) => {
    const r = await presigner.presign({ method: 'GET', protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path, query: { ...query }, headers: { host: url.host } }, { expiresIn, ...(signingDate ? { signingDate } : {}) });
    return Object.entries(r.query as Record<string, string>);
  };
  // The check: the SDK's own URL, again, from its date.
  const again = await presign(url.pathname, expires, date);
  if (again.length !== [...url.searchParams].length || !again.every(([k, v]) => url.searchParams.get(k) === v)) return undefined;
  const origin = `${url.protocol}//${url.host}`;
  return {
    async sign(k, expiresIn, signingDate) {
      const path = `${prefix}/${escapeKey(k)}`;
      const q = await presign(path, expiresIn, signingDate);
      return `${origin}${path}?${q.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&')}`;
    },
  };
}
