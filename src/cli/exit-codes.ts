import { RangepoolError, printable } from '../errors.js';

/** Exit codes by error class (documented in the README and `rangepool --help`). */
export const EXIT = { ok: 0, other: 1, usage: 2, notFound: 3, accessDenied: 4, integrity: 5, local: 6 } as const;

const HINTS: Partial<Record<RangepoolError['code'], string>> = {
  NotFound: 'check the bucket/container and key, and the endpoint',
  AccessDenied: 'check the credentials (AWS_*, AZURE_STORAGE_CONNECTION_STRING, Application Default Credentials)',
  InvalidArgument: 'see rangepool --help',
  PreconditionFailed: 'the object changed while it was read: run again',
  IntegrityError: 'what the service sent does not match what it promised (range, length or checksum): run again, and report it if it persists',
  Unavailable: 'the service kept failing: try again later or lower --concurrency',
  Timeout: 'the service stopped sending data: try again later',
  LocalIO: 'a fault on this machine, not the service',
};

/** Whose permission to check: the cloud's credentials, a URL's (its signature or the server's rules), or the file's. */
function accessHint(uri: string | undefined): string | undefined {
  const scheme = uri === undefined ? undefined : /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return "the server refused it: check the URL (a presigned one may have expired) and the server's access rules";
  if (scheme === 'file' || scheme === 'direct') return "check the file's permissions on this machine";
  if (scheme === 's3') return 'check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, --profile) and their permissions';
  if (scheme === 'gs') return 'check the credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login) and their permissions';
  if (scheme === 'az') return 'check the credentials (AZURE_STORAGE_CONNECTION_STRING, the account key or SAS) and their permissions';
  return HINTS.AccessDenied;
}

export function exitCodeFor(e: unknown): number {
  if (!(e instanceof RangepoolError)) return EXIT.other;
  switch (e.code) {
    case 'InvalidArgument':
      return EXIT.usage;
    case 'NotFound':
      return EXIT.notFound;
    case 'AccessDenied':
      return EXIT.accessDenied;
    case 'IntegrityError':
      return EXIT.integrity;
    case 'LocalIO':
      return EXIT.local;
    default:
      return EXIT.other;
  }
}

/** Nothing answered at all: retrying later or with less concurrency is not the advice. */
const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/;

/** One line for stderr: what went wrong, on which URI, and what to do; control characters from a server escaped. */
export function describe(e: unknown): string {
  if (e instanceof RangepoolError) {
    const hint = e.code === 'Unavailable' && UNREACHABLE.test(e.message) ? 'nothing answered there: check the endpoint (--endpoint, AWS_ENDPOINT_URL, ...) and the network' : e.code === 'AccessDenied' ? accessHint(e.uri) : HINTS[e.code];
    return printable(`${e.code}: ${e.message}${hint ? ` — ${hint}` : ''}`);
  }
  return printable(`error: ${(e as Error)?.message ?? e}`);
}
