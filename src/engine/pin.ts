// Which versions of an object separate requests can be held to. Only a strong validator (a generation, or
// an ETag that is not W/) proves two responses come from one version: a weak ETag may not be matched by
// If-Match (RFC 9110 13.1.1), and a Last-Modified date has one-second resolution and may stay while the
// bytes change. A date counts only where the caller opted in (datePinnedRanges on http(s) URLs).
import type { ObjectMeta, Store } from '../stores/store.js';

export function strongValidator(meta: ObjectMeta): boolean {
  return meta.generation !== undefined || ifMatchFor(meta.etag) !== undefined;
}

/** Whether the object may be read as several requests; otherwise it is read in one. */
export function canPinRanges(meta: ObjectMeta, store: Store): boolean {
  return strongValidator(meta) || (store.datePinnedRanges === true && meta.lastModified !== undefined);
}

/** The ETag to send as If-Match: none for a weak one, which a strong comparison never matches. */
export function ifMatchFor(etag: string | undefined): string | undefined {
  return etag?.startsWith('W/') ? undefined : etag;
}
