// az://container/blob on @azure/storage-blob. Every range carries If-Match with the ETag stat saw.
import type { BlobServiceClient } from '@azure/storage-blob';
import { RangepoolError } from '../errors.js';
import type { Location } from '../uri.js';
import { checkContentRange, pipeInto } from './body.js';
import { httpError } from './http-errors.js';
import { loadSdk } from './load-sdk.js';
import type { HttpStoreOptions } from './http-options.js';
import type { ListEntry, ObjectMeta, ReadOptions, Store } from './store.js';

export interface AzureStoreOptions extends HttpStoreOptions {
  /** Azure connection string (default AZURE_STORAGE_CONNECTION_STRING). */
  connectionString?: string;
}

type Sdk = typeof import('@azure/storage-blob');

export class AzureStore implements Store {
  private service?: Promise<BlobServiceClient>;

  constructor(readonly opts: AzureStoreOptions = {}) {}

  private client(uri: string): Promise<BlobServiceClient> {
    return (this.service ??= loadSdk<Sdk>('@azure/storage-blob').then((sdk) => {
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
        size: p.contentLength ?? 0,
        etag: p.etag,
        lastModified: p.lastModified,
        checksums: p.contentMD5 ? { md5: Buffer.from(p.contentMD5).toString('base64') } : undefined,
      };
    } catch (e) {
      this.fail(loc, e);
    }
  }

  async readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    const blob = await this.blob(loc);
    const end = start + target.length - 1;
    try {
      const res = await blob.download(start, target.length, {
        abortSignal: opts.signal,
        maxRetryRequests: 0, // the SDK would silently re-request a broken body; the engine resumes instead
        conditions: opts.version.etag ? { ifMatch: opts.version.etag } : undefined,
      });
      const body = res.readableStreamBody as (NodeJS.ReadableStream & AsyncIterable<Uint8Array>) | undefined;
      if (!body) throw new RangepoolError('Internal', 'download returned no body', { uri: loc.uri });
      if (res.contentRange !== undefined || start !== 0 || end !== opts.version.size - 1) {
        checkContentRange(res.contentRange, start, end, opts.version.size, loc.uri);
      }
      await pipeInto(body, target, opts.onData, loc.uri);
    } catch (e) {
      this.fail(loc, e);
    }
  }

  async put(loc: Location, data: Uint8Array): Promise<void> {
    const blob = await this.blob(loc);
    await blob.uploadData(data).catch((e) => this.fail(loc, e));
  }

  async list(prefix: Location): Promise<ListEntry[]> {
    const container = (await this.client(prefix.uri)).getContainerClient(prefix.bucket);
    const out: ListEntry[] = [];
    try {
      for await (const b of container.listBlobsFlat({ prefix: prefix.key })) {
        out.push({ key: b.name, size: b.properties.contentLength ?? 0, etag: b.properties.etag, lastModified: b.properties.lastModified });
      }
    } catch (e) {
      this.fail(prefix, e);
    }
    return out;
  }

  async delete(loc: Location): Promise<void> {
    const blob = await this.blob(loc);
    await blob.deleteIfExists().catch((e) => this.fail(loc, e));
  }
}
