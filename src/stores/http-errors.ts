import { RangepoolError, printable, type ErrorCode } from '../errors.js';

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Maps what an SDK or HTTP client reports (status, service code, socket errno) to a RangepoolError.
 * `region` is S3's x-amz-bucket-region, which names where a redirected bucket lives.
 */
export function httpError(uri: string, cause: unknown, status: number | undefined, serviceCode?: string, region?: string): RangepoolError {
  if (cause instanceof RangepoolError) return cause;
  const errno = (cause as NodeJS.ErrnoException)?.code ?? ((cause as Error)?.cause as NodeJS.ErrnoException | undefined)?.code;
  // An SDK names an error it could not parse 'Unknown'/'UnknownError', and a network error plain 'Error': the status says more.
  const named = serviceCode && !/^(Unknown|Error$)/.test(serviceCode) ? serviceCode : undefined;
  // The service's own name for the error, unless it only repeats the code ('NotFound', 'AccessDenied').
  const say = (code: ErrorCode, what: string, retryable?: boolean, throttled?: boolean) =>
    new RangepoolError(code, `${what}${named && named !== code ? ` (${named})` : status && !named ? ` (HTTP ${status})` : ''}`, { uri, cause, retryable, throttled });
  if ((cause as Error)?.name === 'CredentialsProviderError') return awsCredentialsError(uri, cause);
  if (status === undefined && /Could not load the default credentials/.test(String((cause as Error)?.message))) {
    return say('AccessDenied', 'no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default login`, or pass storeOptions.client');
  }
  if (status === undefined && errno && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(errno)) {
    return say('AccessDenied', `the server's TLS certificate is not trusted (${errno}): add its CA with NODE_EXTRA_CA_CERTS or storeOptions.tls.ca`);
  }
  if (status !== undefined && status >= 300 && status < 400) {
    return say('InvalidArgument', region ? `the bucket is in region ${printable(region)}: set AWS_REGION=${printable(region)} or storeOptions.region` : 'the service redirected the request elsewhere');
  }
  // Node's HTTP parser refused the response (a head past its limit, a malformed Content-Length, ...).
  if (status === undefined && errno?.startsWith('HPE_')) return say('IntegrityError', `the response is not valid HTTP (${errno})`, true);
  // A TLS record that fails its check, an alert, a cut record (Node's ERR_SSL_*, the native reader's
  // ERR_RANGEPOOL_TLS): this connection's stream is broken, another may well not be.
  if (status === undefined && (errno === 'ERR_RANGEPOOL_TLS' || errno?.startsWith('ERR_SSL_'))) {
    return say('IntegrityError', `the TLS stream failed: ${(cause as Error)?.message ?? cause}`, true);
  }
  if (status === 404) return say('NotFound', 'no such object, bucket or container');
  if (status === 401 || status === 403) return say('AccessDenied', 'access denied: check the credentials and permissions');
  if (status === 412 || status === 409) return say('PreconditionFailed', 'the object changed since it was first read');
  if (status === 416) return say('InvalidArgument', 'the range is past the end of the object');
  if (status === 400) return say('InvalidArgument', 'the service rejected the request');
  if (status === 429 || status === 503) return say('Unavailable', 'the service is throttling requests', undefined, true);
  if (status !== undefined && status >= 500) return say('Unavailable', 'the service failed');
  if (status === undefined && (errno === undefined || NETWORK.has(errno) || /socket|network|reset|closed/i.test(String((cause as Error)?.message)))) {
    return say('Unavailable', `network error${errno ? ` ${errno}` : ''}: ${(cause as Error)?.message ?? cause}`);
  }
  return say('Internal', `unexpected response: ${(cause as Error)?.message ?? cause}`);
}

/** An object's size as a service states it; missing or malformed is an error, never 0. */
export function sizeOf(value: unknown, uri: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangepoolError('IntegrityError', `the service did not state the object's size (got ${String(value).slice(0, 40)})`, { uri });
  }
  return n;
}

/** No AWS credentials: for the profile asked for (storeOptions.profile, --profile, AWS_PROFILE) when one was, which the SDK does not name. */
export function awsCredentialsError(uri: string, cause: unknown, asked?: string): RangepoolError {
  const profile = asked ?? process.env.AWS_PROFILE;
  const why = profile
    ? `no AWS credentials for the profile ${JSON.stringify(printable(profile))}${asked === undefined ? ' (AWS_PROFILE)' : ''}: check that it is in ~/.aws/config or ~/.aws/credentials (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) and has credentials`
    : 'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or pass storeOptions.credentials';
  return new RangepoolError('AccessDenied', why, { uri, cause });
}
