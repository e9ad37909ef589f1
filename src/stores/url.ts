// http(s)://… objects: presigned URLs, public buckets, model files on CDNs. Always the direct transport
// (there is no SDK to fall back to). Ranges are pinned with If-Match on the first response's ETag; with
// only Last-Modified the object is read in one request, or (datePinnedRanges) in ranges pinned with
// If-Unmodified-Since; a server without range support answers the first request with the whole object.
// Redirects are followed a bounded number of times, never from https: to http: unless asked
// (allowInsecureRedirects).
import { RangepoolError } from '../errors.js';
import type { HttpRequest } from '../http/client.js';
import type { Location } from '../uri.js';
import { DirectRanges } from './direct.js';
import type { Landing } from '../http/connection.js';
import { httpClientFor, type HttpStoreOptions } from './http-options.js';
import type { FirstReadOptions, ListPage, ObjectMeta, ReadOptions, Store } from './store.js';
import { ifMatchFor } from '../engine/pin.js';

export interface UrlStoreOptions extends HttpStoreOptions {
  /**
   * Split an object whose server gives only Last-Modified (no strong ETag) into ranges pinned to that
   * date with If-Unmodified-Since. Off by default: a date has one-second resolution and may stay while
   * the bytes change, so such an object is read in one request.
   */
  datePinnedRanges?: boolean | undefined;
  /** Follow a redirect from https: to http:, where the object travels in clear text. Default false: InvalidArgument. */
  allowInsecureRedirects?: boolean | undefined;
}

export class UrlStore implements Store {
  readonly transport = 'direct' as const;
  readonly datePinnedRanges: boolean;
  private readonly ranges: DirectRanges;

  constructor(readonly opts: UrlStoreOptions = {}) {
    this.datePinnedRanges = opts.datePinnedRanges === true;
    this.ranges = new DirectRanges(
      {
        request: async (loc, start, end, pin) => this.request(loc, start, end, pin.version, pin.ifMatch),
        describe: (h) => ({ etag: h.get('etag'), lastModified: h.has('last-modified') ? new Date(h.get('last-modified')!) : undefined }),
        stat: (loc, signal) => this.stat(loc, signal),
        followRedirects: true,
        allowInsecureRedirects: opts.allowInsecureRedirects === true,
      },
      httpClientFor(opts),
    );
  }

  private request(loc: Location, start: number, end: number, version: ObjectMeta | undefined, ifMatch: string | undefined): HttpRequest {
    const headers: Record<string, string> = { range: `bytes=${start}-${end}` };
    // If-Match compares strongly: a weak ETag would never match, so it pins by date instead (where allowed).
    const etag = ifMatchFor(version?.etag ?? ifMatch);
    if (etag !== undefined) headers['if-match'] = etag;
    else if (version?.lastModified) headers['if-unmodified-since'] = version.lastModified.toUTCString();
    return { url: new URL(loc.uri), headers };
  }

  /** What the object is, from a one-byte ranged GET (presigned URLs are often signed for GET only, not HEAD). */
  stat(loc: Location, signal?: AbortSignal): Promise<ObjectMeta> {
    return this.ranges.stat(loc, signal);
  }

  readFirst(loc: Location, start: number, length: number, opts: FirstReadOptions): Promise<ObjectMeta> {
    return this.ranges.readFirst(loc, start, length, opts);
  }

  readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    return this.ranges.readRange(loc, start, target, opts);
  }

  readRangeLanding(loc: Location, start: number, landing: Landing, opts: ReadOptions): Promise<void> {
    return this.ranges.readRange(loc, start, landing, opts);
  }

  async listPage(prefix: Location): Promise<ListPage> {
    throw new RangepoolError('Unsupported', 'an http(s) URL has no listing: give each object\'s URL to get, stat or cat', { uri: prefix.uri });
  }
}
