// az://container/blob on @azure/storage-blob. Every range carries If-Match with the ETag stat saw.
import type { BlobItem, BlobServiceClient } from '@azure/storage-blob';
import { RangepoolError, invalidArgument } from '../errors.js';
import type { Location } from '../uri.js';
import { checkContentRange, pipeInto } from './body.js';
import { httpError, sizeOf } from './http-errors.js';
import { loadSdk } from './load-sdk.js';
import type { HttpRequest } from '../http/client.js';
import type { Landing } from '../http/connection.js';
import { DirectRanges } from './direct.js';
import { chooseTransport, httpClientFor, type HttpStoreOptions } from './http-options.js';
import { LIST_PAGE_KEYS, type FirstReadOptions, type ListPage, type ObjectMeta, type ReadOptions, type Store, type Transport } from './store.js';
import { ifMatchFor } from '../engine/pin.js';

/** A BlobServiceClient from @azure/storage-blob, stated without the SDK's types (a program's type check never needs them). */
export interface AzureClientLike {
  readonly url: string;
  getContainerClient(name: string): unknown;
}

export interface AzureStoreOptions extends HttpStoreOptions {
  /** Azure connection string (default AZURE_STORAGE_CONNECTION_STRING). */
  connectionString?: string | undefined;
  /**
   * A BlobServiceClient of yours (any credential: shared key, SAS URL, or a token credential such as
   * DefaultAzureCredential), used as it is configured; connectionString is then ignored.
   */
  client?: AzureClientLike | undefined;
}

type Sdk = typeof import('@azure/storage-blob');

/** A read-only SAS made for a blob is reused for this long (it is valid for an hour). */
const SAS_REUSE_MS = 10 * 60_000;
/** REST version for bearer-token requests, which carry no SAS version to follow. */
const BEARER_VERSION = '2024-08-04';

export class AzureStore implements Store {
  readonly transport: Transport;
  readonly readFirst?: (loc: Location, start: number, length: number, opts: FirstReadOptions) => Promise<ObjectMeta>;
  readonly readRangeLanding?: (loc: Location, start: number, landing: Landing, opts: ReadOptions) => Promise<void>;
  private service?: Promise<BlobServiceClient>;
  private readonly ranges?: DirectRanges;
  private readonly sas = new Map<string, { url: string; until: number }>();

  constructor(readonly opts: AzureStoreOptions = {}) {
    const cs = opts.connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING ?? '';
    const endpoint = opts.client ? opts.client.url : (/BlobEndpoint=([^;]+)/i.exec(cs)?.[1] ?? (/DefaultEndpointsProtocol=http(;|$)/i.test(cs) ? 'http://' : undefined));
    this.transport = chooseTransport(opts, endpoint);
    if (this.transport === 'direct') {
      const ranges = new DirectRanges(
        {
          request: (loc, start, end, pin) => this.signedGet(loc, start, end, ifMatchFor(pin.version?.etag ?? pin.ifMatch)),
          describe: (h) => ({ etag: h.get('etag'), lastModified: h.has('last-modified') ? new Date(h.get('last-modified')!) : undefined }),
          stat: (loc, signal) => this.stat(loc, signal),
        },
        httpClientFor(opts),
      );
      this.ranges = ranges;
      this.readFirst = (loc, start, length, o) => ranges.readFirst(loc, start, length, o);
      this.readRangeLanding = (loc, start, landing, o) => ranges.readRange(loc, start, landing, o);
    }
  }

  /**
   * The blob's URL with the SDK's own credential: a shared key becomes a short-lived read-only SAS from
   * the SDK's SAS functions, a token credential a bearer token, and a URL that carries a SAS is used as is.
   */
  private async signedGet(loc: Location, start: number, end: number, etag: string | undefined): Promise<HttpRequest> {
    const service = await this.client(loc.uri);
    const blob = service.getContainerClient(loc.bucket).getBlobClient(loc.key);
    const credential = service.credential as object;
    const headers: Record<string, string> = { 'x-ms-range': `bytes=${start}-${end}` };
    if (etag !== undefined) headers['if-match'] = etag;
    let url = blob.url;
    if ('accountName' in credential && 'computeHMACSHA256' in credential) {
      const key = `${loc.bucket}/${loc.key}`;
      let hit = this.sas.get(key);
      if (!hit || hit.until < Date.now()) {
        const sdk = await loadSdk<Sdk>('@azure/storage-blob');
        const query = sdk.generateBlobSASQueryParameters(
          { containerName: loc.bucket, blobName: loc.key, permissions: sdk.BlobSASPermissions.parse('r'), startsOn: new Date(Date.now() - 5 * 60_000), expiresOn: new Date(Date.now() + 60 * 60_000) },
          credential as InstanceType<Sdk['StorageSharedKeyCredential']>,
        ).toString();
        if (this.sas.size >= 1024) this.sas.delete(this.sas.keys().next().value!);
        this.sas.set(key, (hit = { url: `${blob.url}${blob.url.includes('?') ? '&' : '?'}${query}`, until: Date.now() + SAS_REUSE_MS }));
      }
      url = hit.url;
    } else if ('getToken' in credential) {
      const token = await (credential as { getToken(scope: string): Promise<{ token: string } | null> }).getToken('https://storage.azure.com/.default').catch((e: unknown) => this.fail(loc, e));
      if (token) headers.authorization = `Bearer ${token.token}`;
    }
    const parsed = new URL(url);
    headers['x-ms-version'] = parsed.searchParams.get('sv') ?? BEARER_VERSION;
    return { url: parsed, headers };
  }

  private client(uri: string): Promise<BlobServiceClient> {
    return (this.service ??= loadSdk<Sdk>('@azure/storage-blob').then((sdk) => {
      if (this.opts.client !== undefined) {
        if (typeof this.opts.client.getContainerClient !== 'function' || !('credential' in this.opts.client)) throw invalidArgument('storeOptions.client for az:// must be a BlobServiceClient from @azure/storage-blob', uri);
        return this.opts.client as BlobServiceClient;
      }
      const cs = this.opts.connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING;
      if (!cs) throw new RangepoolError('InvalidArgument', 'az:// needs AZURE_STORAGE_CONNECTION_STRING or the connectionString option', { uri });
      try {
        return sdk.BlobServiceClient.fromConnectionString(cs, { retryOptions: { maxTries: 1 } }); // the engine retries
      } catch (e) {
        throw new RangepoolError('InvalidArgument', `bad Azure connection string: ${(e as Error).message}`, { uri, cause: e });
      }
    }));
  }

  private async blob(loc: Location) {
    return (await this.client(loc.uri)).getContainerClient(loc.bucket).getBlockBlobClient(loc.key);
  }

  private fail(loc: Location, e: unknown): never {
    const err = e as { statusCode?: number; code?: string; name?: string };
    if (err?.name === 'AbortError') throw e;
    throw httpError(loc.uri, e, err?.statusCode, err?.code);
  }

  async stat(loc: Location, signal?: AbortSignal): Promise<ObjectMeta> {
    const blob = await this.blob(loc);
    try {
      const p = await blob.getProperties({ abortSignal: signal });
      return {
        size: sizeOf(p.contentLength, loc.uri),
        etag: p.etag,
        lastModified: p.lastModified,
        checksums: p.contentMD5 ? { md5: Buffer.from(p.contentMD5).toString('base64') } : undefined,
      };
    } catch (e) {
      this.fail(loc, e);
    }
  }

  async readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    if (this.ranges) return this.ranges.readRange(loc, start, target, opts);
    const blob = await this.blob(loc);
    const end = start + target.length - 1;
    const ifMatch = ifMatchFor(opts.version.etag);
    try {
      const res = await blob.download(start, target.length, {
        abortSignal: opts.signal,
        maxRetryRequests: 0, // the SDK would silently re-request a broken body; the engine resumes instead
        conditions: ifMatch ? { ifMatch } : undefined,
      });
      const body = res.readableStreamBody as (NodeJS.ReadableStream & AsyncIterable<Uint8Array>) | undefined;
      if (!body) throw new RangepoolError('Internal', 'download returned no body', { uri: loc.uri });
      if (res.contentRange !== undefined || start !== 0 || end !== opts.version.size - 1) {
        checkContentRange(res.contentRange, start, end, opts.version.size, loc.uri);
      }
      await pipeInto(body, target, opts.onData, loc.uri, opts.limit);
    } catch (e) {
      this.fail(loc, e);
    }
  }

  async listPage(prefix: Location, cursor: string | undefined, signal: AbortSignal, delimiter?: '/'): Promise<ListPage> {
    const container = (await this.client(prefix.uri)).getContainerClient(prefix.bucket);
    try {
      const paging = { maxPageSize: LIST_PAGE_KEYS, ...(cursor ? { continuationToken: cursor } : {}) };
      const pages = delimiter
        ? container.listBlobsByHierarchy(delimiter, { prefix: prefix.key, abortSignal: signal }).byPage(paging)
        : container.listBlobsFlat({ prefix: prefix.key, abortSignal: signal }).byPage(paging);
      const { value } = await pages.next();
      const segment = value?.segment as { blobItems?: BlobItem[]; blobPrefixes?: Array<{ name: string }> } | undefined;
      const entries = (segment?.blobItems ?? []).map((b: BlobItem) => ({ key: b.name, size: b.properties.contentLength ?? 0, etag: b.properties.etag, lastModified: b.properties.lastModified }));
      return { entries, folders: (segment?.blobPrefixes ?? []).map((p) => p.name), next: value?.continuationToken || undefined };
    } catch (e) {
      this.fail(prefix, e);
    }
  }

}
