// s3://bucket/key on @aws-sdk/client-s3. Only translation: retries, pinning policy and checks are the
// engine's. The SDK's own retries are off (maxAttempts 1) so one policy decides.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { invalidArgument } from '../errors.js';
import type { Location } from '../uri.js';
import { checkContentRange, pipeInto } from './body.js';
import type { HttpRequest } from '../http/client.js';
import type { Landing } from '../http/connection.js';
import { DirectRanges } from './direct.js';
import { awsCredentialsError, httpError, sizeOf } from './http-errors.js';
import { DEFAULT_MAX_SOCKETS, chooseTransport, httpClientFor, type HttpStoreOptions } from './http-options.js';
import { loadSdk } from './load-sdk.js';
import { keySigner, type KeySigner } from './s3-key-signer.js';
import { boundedBodies } from './sdk-bodies.js';
import { LIST_PAGE_KEYS, type FirstReadOptions, type ListPage, type ObjectMeta, type ReadOptions, type Store, type Transport } from './store.js';
import { ifMatchFor } from '../engine/pin.js';

export interface S3StoreOptions extends HttpStoreOptions {
  /** Default: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, else AWS itself. */
  endpoint?: string | undefined;
  /** Default: AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1. */
  region?: string | undefined;
  /** Keys, or a function the SDK calls for them when it needs them (default: the SDK's own chain). */
  credentials?: (AwsCredentials | (() => Promise<AwsCredentials>)) | undefined;
  /**
   * No credentials: every request goes unsigned, for public buckets (as aws --no-sign-request). Default
   * false. Set, `credentials` and `profile` are ignored.
   */
  anonymous?: boolean | undefined;
  /** The shared config/credentials profile to use (as AWS_PROFILE and aws --profile). Default: the SDK's own chain. */
  profile?: string | undefined;
  /** Path-style URLs; default true when the endpoint is an IP address or localhost. */
  forcePathStyle?: boolean | undefined;
  /**
   * An S3Client of yours, used as it is configured (endpoint, region, credentials, its own retries and
   * handler); the options above are then ignored, except transport, maxSockets and tls.
   */
  client?: S3ClientLike | undefined;
}

/**
 * What an S3Client from @aws-sdk/client-s3 is to these options: stated without the SDK's types, so a
 * program's own type check never needs the SDK's declarations (an S3-less user's tsc included).
 */
export interface S3ClientLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  send(command: any, options?: any): Promise<unknown>;
  config: object;
}

/** Query parameters of a presigned URL: removed, they leave the SDK's URL of the object unsigned. */
const SIGNATURE_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Content-Sha256', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token', 'x-id'];
/** Identity the SDK asks for before it would sign: never used, since the signer signs nothing. */
const NO_KEYS = { accessKeyId: 'anonymous', secretAccessKey: 'anonymous' };

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

type Sdk = typeof import('@aws-sdk/client-s3');

function unsigned(url: string): string {
  const u = new URL(url);
  for (const p of SIGNATURE_PARAMS) u.searchParams.delete(p);
  return u.toString();
}

/**
 * The region the SDK's own chain gives (AWS_REGION, the profile's `region` in the shared config file, as
 * aws-cli reads them), or us-east-1 where it gives none; an empty AWS_REGION counts as unset.
 */
async function sdkRegion(sdk: Sdk, profile: string | undefined): Promise<string> {
  if (process.env.AWS_REGION === '') return process.env.AWS_DEFAULT_REGION || 'us-east-1';
  try {
    return (await new sdk.S3Client(profile !== undefined ? { profile } : {}).config.region()) || 'us-east-1';
  } catch {
    return process.env.AWS_DEFAULT_REGION || 'us-east-1';
  }
}

function pathStyleFor(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

/** S3 publishes checksums as base64 big-endian; a multipart object's "composite" value is not whole-object. */
function checksumBytes(value: string | undefined, type: string | undefined, length: number): Buffer | undefined {
  if (!value || value.includes('-') || (type && type !== 'FULL_OBJECT')) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === length ? bytes : undefined;
}

/**
 * A presigned GET is reused for this long per object (it is valid for PRESIGN_SECONDS), and never within
 * PRESIGN_MARGIN_MS of the expiry of the credentials it was signed with (temporary STS/SSO/IMDS keys).
 */
const PRESIGN_REUSE_MS = 5 * 60_000;
const PRESIGN_SECONDS = 15 * 60;
const PRESIGN_MARGIN_MS = 60_000;

export class S3Store implements Store {
  readonly endpoint: string | undefined;
  readonly maxSockets: number;
  readonly transport: Transport;
  readonly readFirst?: (loc: Location, start: number, length: number, opts: FirstReadOptions) => Promise<ObjectMeta>;
  readonly readRangeLanding?: (loc: Location, start: number, landing: Landing, opts: ReadOptions) => Promise<void>;
  private client?: Promise<{ sdk: Sdk; client: S3Client }>;
  private ranges?: DirectRanges;
  private readonly presigned = new Map<string, { url: string; until: number }>();
  /** Per bucket: how its keys are signed without getSignedUrl's middleware (s3-key-signer.ts), or undefined where they cannot be. */
  private readonly keySigners = new Map<string, Promise<KeySigner | undefined>>();

  constructor(readonly opts: S3StoreOptions = {}) {
    this.endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (this.endpoint !== undefined && !URL.canParse(this.endpoint)) throw invalidArgument(`the S3 endpoint ${JSON.stringify(this.endpoint)} is not a URL (e.g. http://127.0.0.1:9000)`);
    this.maxSockets = opts.maxSockets ?? DEFAULT_MAX_SOCKETS;
    this.transport = chooseTransport(opts, this.endpoint);
    if (this.transport === 'direct') {
      this.ranges = new DirectRanges(
        {
          request: (loc, start, end, pin) => this.signedGet(loc, start, end, ifMatchFor(pin.version?.etag ?? pin.ifMatch)),
          describe: (h) => ({ etag: h.get('etag'), lastModified: h.has('last-modified') ? new Date(h.get('last-modified')!) : undefined }),
          stat: (loc, signal) => this.stat(loc, signal),
          // A 403 may be a signature that expired in flight (or credentials rotated): sign again, once.
          resign: (loc) => void this.presigned.delete(`${loc.bucket}/${loc.key}`),
        },
        httpClientFor(opts),
      );
      this.readFirst = (loc, start, length, o) => this.ranges!.readFirst(loc, start, length, o);
      this.readRangeLanding = (loc, start, landing, o) => this.ranges!.readRange(loc, start, landing, o);
    }
  }

  /**
   * A GET presigned by the SDK itself (its endpoint rules, region and credential chain), with Range and
   * If-Match added as unsigned headers, which S3 allows. One signature serves an object for a few minutes.
   */
  private async signedGet(loc: Location, start: number, end: number, etag: string | undefined): Promise<HttpRequest> {
    const key = `${loc.bucket}/${loc.key}`;
    let hit = this.presigned.get(key);
    if (!hit || hit.until < Date.now()) {
      const { client } = await this.sdk();
      // The credentials the presigner will use (the client's provider is memoized, so this is the same call).
      const expiration = (await client.config.credentials().catch((e: unknown) => this.fail(loc, e))).expiration?.getTime() ?? Infinity;
      const signed = await this.presign(loc).catch((e) => this.fail(loc, e));
      // Anonymous: the SDK's URL for the object (endpoint rules, region, path style), with no signature.
      const url = this.opts.anonymous ? unsigned(signed) : signed;
      if (this.presigned.size >= 1024) this.presigned.delete(this.presigned.keys().next().value!);
      this.presigned.set(key, (hit = { url, until: Math.min(Date.now() + PRESIGN_REUSE_MS, expiration - PRESIGN_MARGIN_MS) }));
    }
    const headers: Record<string, string> = { range: `bytes=${start}-${end}` };
    if (etag !== undefined) headers['if-match'] = etag;
    return { url: new URL(hit.url), headers };
  }

  /** The SDK's presigned GET of loc; after a first key of its bucket checked out, its presigner's alone (s3-key-signer.ts). */
  private async presign(loc: Location): Promise<string> {
    const { sdk, client } = await this.sdk();
    const p = await loadSdk<typeof import('@aws-sdk/s3-request-presigner')>('@aws-sdk/s3-request-presigner');
    const viaSdk = () => p.getSignedUrl(client, new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { expiresIn: PRESIGN_SECONDS });
    // A caller's own client (its middleware may change requests) and anonymous URLs keep the SDK's way.
    if (this.opts.client !== undefined || this.opts.anonymous) return viaSdk();
    const signer = this.keySigners.get(loc.bucket);
    if (signer) {
      const s = await signer;
      return s ? s.sign(loc.key, PRESIGN_SECONDS) : viaSdk();
    }
    const first = viaSdk();
    if (this.keySigners.size >= 64) this.keySigners.delete(this.keySigners.keys().next().value!);
    // (A first signing that fails is tried again with the next key; one that cannot be re-created is final.)
    this.keySigners.set(
      loc.bucket,
      first.then(
        (url) => keySigner(p.S3RequestPresigner, client, url, loc.key).catch(() => undefined),
        () => void this.keySigners.delete(loc.bucket),
      ),
    );
    return first;
  }

  /** One client (and one keep-alive agent) per store; the registry keeps one store per configuration. */
  private sdk(): Promise<{ sdk: Sdk; client: S3Client }> {
    return (this.client ??= (async () => {
      const sdk = await loadSdk<Sdk>('@aws-sdk/client-s3');
      const given = this.opts.client;
      if (given !== undefined) {
        // Duck-typed: a client from another copy of the SDK (a nested node_modules) is one too.
        if (typeof given.send !== 'function' || typeof given.config !== 'object') throw invalidArgument('storeOptions.client for s3:// must be an S3Client from @aws-sdk/client-s3');
        return { sdk, client: given as S3Client };
      }
      const { NodeHttpHandler } = await loadSdk<typeof import('@smithy/node-http-handler')>('@smithy/node-http-handler');
      const agentOpts = { keepAlive: true, maxSockets: this.maxSockets };
      const tls = this.opts.tls ?? {};
      // The SDK's own chain (AWS_REGION, then the profile's region in the shared config, as aws-cli), else
      // us-east-1: resolved once (the SDK asks its region provider on every request).
      let region: Promise<string> | undefined;
      const client = new sdk.S3Client({
        endpoint: this.endpoint,
        region: this.opts.region || (() => (region ??= sdkRegion(sdk, this.opts.anonymous ? undefined : this.opts.profile))),
        // A copy: the SDK writes into the object it is given, which would change the caller's options (and the store and size-cache keys made from them).
        credentials: this.opts.anonymous ? NO_KEYS : typeof this.opts.credentials === 'function' ? this.opts.credentials : this.opts.credentials && { ...this.opts.credentials },
        ...(this.opts.anonymous ? { signer: { sign: async <R>(request: R) => request } } : {}),
        ...(this.opts.profile !== undefined && !this.opts.anonymous ? { profile: this.opts.profile } : {}),
        forcePathStyle: this.opts.forcePathStyle ?? pathStyleFor(this.endpoint),
        maxAttempts: 1,
        // Whole-response checksums are wrong for ranges and cost a pass; aws-chunked uploads corrupt
        // objects on servers that do not speak it. The engine verifies whole objects itself.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: new (boundedBodies(NodeHttpHandler))({ httpAgent: new HttpAgent(agentOpts), httpsAgent: new HttpsAgent({ ...tls, ...agentOpts }) }),
      });
      return { sdk, client };
    })());
  }

  private fail(loc: Location, e: unknown): never {
    if ((e as Error)?.name === 'CredentialsProviderError' && !this.opts.client) throw awsCredentialsError(loc.uri, e, this.opts.profile);
    const err = e as { $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> }; name?: string };
    throw httpError(loc.uri, e, err?.$metadata?.httpStatusCode, err?.$metadata ? err.name : undefined, err?.$response?.headers?.['x-amz-bucket-region']);
  }

  async stat(loc: Location, signal?: AbortSignal): Promise<ObjectMeta> {
    const { sdk, client } = await this.sdk();
    try {
      const h = await client.send(new sdk.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key, ChecksumMode: 'ENABLED' }), { abortSignal: signal });
      const crc32c = checksumBytes(h.ChecksumCRC32C, h.ChecksumType, 4)?.readUInt32BE();
      // CRC64NVME is always a full-object checksum, whatever ChecksumType says.
      const crc64nvme = checksumBytes(h.ChecksumCRC64NVME, undefined, 8)?.readBigUInt64BE();
      return {
        size: sizeOf(h.ContentLength, loc.uri),
        etag: h.ETag,
        lastModified: h.LastModified,
        checksums: crc32c !== undefined || crc64nvme !== undefined ? { crc32c, crc64nvme } : undefined,
      };
    } catch (e) {
      this.fail(loc, e);
    }
  }

  async readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    if (this.ranges) return this.ranges.readRange(loc, start, target, opts);
    const { sdk, client } = await this.sdk();
    const end = start + target.length - 1;
    let body: Readable | undefined;
    const onAbort = () => body?.destroy(opts.signal.reason);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await client.send(
        new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: `bytes=${start}-${end}`, IfMatch: ifMatchFor(opts.version.etag) }),
        { abortSignal: opts.signal },
      );
      body = res.Body as Readable;
      if (opts.signal.aborted) body.destroy();
      checkContentRange(res.ContentRange, start, end, opts.version.size, loc.uri);
      await pipeInto(body, target, opts.onData, loc.uri, opts.limit);
    } catch (e) {
      this.fail(loc, e);
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
      body?.destroy();
    }
  }

  async listPage(prefix: Location, cursor: string | undefined, signal: AbortSignal, delimiter?: '/'): Promise<ListPage> {
    const { sdk, client } = await this.sdk();
    const page = await client
      .send(new sdk.ListObjectsV2Command({ Bucket: prefix.bucket, Prefix: prefix.key, Delimiter: delimiter, ContinuationToken: cursor, MaxKeys: LIST_PAGE_KEYS }), { abortSignal: signal })
      .catch((e) => this.fail(prefix, e));
    const entries = (page.Contents ?? []).map((c) => ({ key: c.Key!, size: c.Size ?? 0, etag: c.ETag, lastModified: c.LastModified }));
    const folders = (page.CommonPrefixes ?? []).map((p) => p.Prefix!).filter(Boolean);
    return { entries, folders, next: page.IsTruncated ? page.NextContinuationToken : undefined };
  }

}
