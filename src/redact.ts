// Signed URLs carry their credential in the query string: X-Amz-Signature/-Credential/-Security-Token
// (S3), X-Goog-Signature/-Credential (GCS), sig (Azure SAS), Signature/Policy/Key-Pair-Id (CloudFront),
// and tokens and keys of every other kind. Whatever rangepool displays (error messages, RangepoolError.uri,
// NODE_DEBUG lines, the CLI's output) goes through here; the URL that is requested is never changed.

/** Query parameter names whose values are (or could be) credentials. */
const SECRET_PARAM = /^sig$|signature$|credential|token|key|secret|passw|auth|policy|accessid/i;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s"'<>()]+/gi;

/**
 * An http(s) URL, or a reference relative to one (a redirect's Location), with its credential values
 * replaced by REDACTED. URIs of other schemes are returned as they are: an s3:// key may hold a `?`.
 */
export function redactUri(uri: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^https?:/i.test(uri)) return uri;
  const withoutUser = uri.replace(/^(https?:\/\/)[^/?#@]*@/i, '$1REDACTED@');
  const q = withoutUser.indexOf('?');
  if (q < 0) return withoutUser;
  const hash = withoutUser.indexOf('#', q);
  const query = withoutUser.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SECRET_PARAM.test(decoded(name)) ? `${name}=REDACTED` : pair;
    })
    .join('&');
  // A fragment is never sent, but it is shown: it may hold a token too (OAuth implicit flows do).
  return `${withoutUser.slice(0, q)}?${redacted}${hash < 0 ? '' : '#REDACTED'}`;
}

/** Text with every http(s) URL in it redacted (messages that quote a URL, such as a redirect's Location). */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, redactUri);
}

function decoded(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
