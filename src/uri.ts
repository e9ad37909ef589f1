import { invalidArgument } from './errors.js';

export type Scheme = 's3' | 'gs' | 'az' | 'file' | 'direct' | 'http' | 'https';
const SCHEMES: readonly string[] = ['s3', 'gs', 'az', 'file', 'direct', 'http', 'https'];

/**
 * Where an object lives. For file:// and direct://, `key` is the absolute path and `bucket` is ''. For
 * http(s):// URLs, `bucket` is the host and `key` the path and query (the whole URL is `uri`).
 */
export interface Location {
  readonly uri: string;
  readonly scheme: Scheme;
  readonly bucket: string;
  readonly key: string;
}

/**
 * s3://bucket/key, gs://bucket/key, az://container/blob, file:///abs/path, direct:///abs/path,
 * https://host/path?query (presigned URLs, public objects).
 * With `prefix`, an empty key is allowed (for listing).
 */
export function parseUri(uri: string, { prefix = false } = {}): Location {
  if (typeof uri !== 'string') throw invalidArgument(`expected a URI string, got ${typeof uri}`);
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/[\s\S]*)?$/i.exec(uri); // a key may hold any character, a line feed too
  if (!m) throw invalidArgument('malformed URI: expected scheme://bucket/key or file:///path', uri);
  const scheme = m[1]!.toLowerCase();
  if (!SCHEMES.includes(scheme)) throw invalidArgument(`unknown scheme ${scheme}://; use one of ${SCHEMES.join(', ')}`, uri);
  const host = m[2]!;
  const rest = m[3] ?? '';
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(uri);
    } catch (e) {
      throw invalidArgument(`malformed URL: ${(e as Error).message}`, uri);
    }
    if (url.username || url.password) throw invalidArgument('credentials in a URL are not supported: use a presigned URL', uri);
    return { uri: url.href, scheme, bucket: url.host, key: `${url.pathname}${url.search}` };
  }
  if (scheme === 'file' || scheme === 'direct') {
    if (host !== '' && host !== 'localhost') throw invalidArgument(`${scheme}:// takes an absolute path: ${scheme}:///abs/path`, uri);
    if (!rest.startsWith('/') || (!prefix && rest.endsWith('/'))) throw invalidArgument('expected an absolute file path', uri);
    let key: string;
    try {
      key = decodeURIComponent(rest);
    } catch {
      throw invalidArgument('malformed percent-encoding in the path', uri);
    }
    return { uri, scheme, bucket: '', key };
  }
  if (host === '') throw invalidArgument(`missing ${scheme === 'az' ? 'container' : 'bucket'} name`, uri);
  const key = rest.slice(1);
  if (key === '' && !prefix) throw invalidArgument('missing object key', uri);
  return { uri, scheme: scheme as Scheme, bucket: host, key };
}

/** The object's key as a path: for an http(s) URL its path without the query (an S3 key may hold a '?'). */
export function keyPath(loc: Location): string {
  return loc.scheme === 'http' || loc.scheme === 'https' ? loc.key.split('?')[0]! : loc.key;
}
