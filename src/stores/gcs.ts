// gs://bucket/key on @google-cloud/storage. Every range is pinned to the generation stat saw, so an
// overwrite mid-download fails instead of mixing versions.
import type { Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import { RangepoolError, invalidArgument } from '../errors.js';
import type { Location } from '../uri.js';
import { checkContentRange, pipeInto } from './body.js';
import { httpError, sizeOf } from './http-errors.js';
import { loadSdk } from './load-sdk.js';
import { chooseTransport, httpClientFor, type HttpStoreOptions } from './http-options.js';
import { DirectRanges } from './direct.js';
import type { HttpRequest } from '../http/client.js';
import type { Landing } from '../http/connection.js';
import { LIST_PAGE_KEYS, type FirstReadOptions, type ListPage, type ObjectMeta, type ReadOptions, type Store, type Transport } from './store.js';

/** A Storage from @google-cloud/storage, stated without the SDK's types (a program's type check never needs them). */
export interface GcsClientLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  bucket(name: string, options?: any): unknown;
}

export interface GcsStoreOptions extends HttpStoreOptions {
  /** API endpoint (default STORAGE_EMULATOR_HOST, else Google's). */
  endpoint?: string | undefined;
  /** GCS project id. */
  projectId?: string | undefined;
  /** A Storage client of yours, used as it is configured; endpoint and projectId are then ignored. */
  client?: GcsClientLike | undefined;
}

type Sdk = typeof import('@google-cloud/storage');

/** The object's generation and whole-object hashes, as GCS states them on every media response. */
function describe(h: Map<string, string>): Omit<ObjectMeta, 'size'> {
  const hash = (name: string) => new RegExp(`(?:^|,)\\s*${name}=([^,]+)`).exec(h.get('x-goog-hash') ?? '')?.[1];
  const crc = hash('crc32c');
  const crc32c = crc && Buffer.from(crc, 'base64').length === 4 ? Buffer.from(crc, 'base64').readUInt32BE() : undefined;
  const md5 = hash('md5');
  return {
    etag: h.get('etag'),
    generation: h.get('x-goog-generation'),
    lastModified: h.has('last-modified') ? new Date(h.get('last-modified')!) : undefined,
    checksums: crc32c !== undefined || md5 !== undefined ? { crc32c, md5 } : undefined,
  };
}

export class GcsStore implements Store {
  readonly endpoint: string | undefined;
  readonly transport: Transport;
  readonly readFirst?: (loc: Location, start: number, length: number, opts: FirstReadOptions) => Promise<ObjectMeta>;
  readonly readRangeLanding?: (loc: Location, start: number, landing: Landing, opts: ReadOptions) => Promise<void>;
  private storage?: Promise<Storage>;
  private readonly ranges?: DirectRanges;

  constructor(readonly opts: GcsStoreOptions = {}) {
    const emulator = process.env.STORAGE_EMULATOR_HOST;
    this.endpoint = opts.endpoint ?? (emulator && !/^https?:/.test(emulator) ? `http://${emulator}` : emulator);
    this.transport = chooseTransport(opts, this.endpoint);
    if (this.transport === 'direct') {
      const ranges = new DirectRanges({ request: (loc, start, end, pin) => this.mediaGet(loc, start, end, pin.version?.generation), describe, stat: (loc) => this.stat(loc) }, httpClientFor(opts));
      this.ranges = ranges;
      this.readFirst = (loc, start, length, o) => ranges.readFirst(loc, start, length, o);
      this.readRangeLanding = (loc, start, landing, o) => ranges.readRange(loc, start, landing, o);
    }
  }

  /**
   * The JSON API's media GET, pinned to the generation in the URL. Authorization is the SDK's own auth
   * client's bearer token, and none where the SDK sends none (a custom endpoint such as an emulator).
   */
  private async mediaGet(loc: Location, start: number, end: number, generation: string | undefined): Promise<HttpRequest> {
    const storage = await this.client();
    const url = new URL(`${storage.apiEndpoint.replace(/\/+$/, '')}/storage/v1/b/${encodeURIComponent(loc.bucket)}/o/${encodeURIComponent(loc.key)}`);
    url.searchParams.set('alt', 'media');
    if (generation !== undefined) url.searchParams.set('generation', generation);
    const headers: Record<string, string> = { range: `bytes=${start}-${end}` };
    if (!storage.customEndpoint || storage.useAuthWithCustomEndpoint) {
      const auth = await storage.authClient.getRequestHeaders(url.href).catch((e: unknown) => this.fail(loc, e));
      const value = auth instanceof Headers ? auth.get('authorization') : (auth as Record<string, string>).Authorization ?? (auth as Record<string, string>).authorization;
      if (value) headers.authorization = value;
    }
    return { url, headers };
  }

  private client(): Promise<Storage> {
    const endpoint = this.endpoint;
    return (this.storage ??= loadSdk<Sdk>('@google-cloud/storage').then((sdk) => {
      if (this.opts.client !== undefined) {
        if (typeof this.opts.client.bucket !== 'function' || !('authClient' in this.opts.client)) throw invalidArgument('storeOptions.client for gs:// must be a Storage from @google-cloud/storage');
        return this.opts.client as Storage;
      }
      return new sdk.Storage({
        ...(endpoint ? { apiEndpoint: endpoint } : {}),
        ...(this.opts.projectId ? { projectId: this.opts.projectId } : {}),
        retryOptions: { autoRetry: false }, // the engine retries
      });
    }));
  }

  private fail(loc: Location, e: unknown): never {
    const err = e as { code?: number | string };
    throw httpError(loc.uri, e, typeof err?.code === 'number' ? err.code : undefined);
  }

  async stat(loc: Location): Promise<ObjectMeta> {
    const storage = await this.client();
    try {
      const [m] = await storage.bucket(loc.bucket).file(loc.key).getMetadata();
      return {
        size: sizeOf(m.size, loc.uri),
        etag: m.etag,
        generation: m.generation !== undefined ? String(m.generation) : undefined,
        lastModified: m.updated ? new Date(m.updated) : undefined,
        checksums: {
          crc32c: m.crc32c ? Buffer.from(m.crc32c, 'base64').readUInt32BE() : undefined,
          md5: m.md5Hash,
        },
      };
    } catch (e) {
      this.fail(loc, e);
    }
  }

  async readRange(loc: Location, start: number, target: Buffer, opts: ReadOptions): Promise<void> {
    if (this.ranges) return this.ranges.readRange(loc, start, target, opts);
    const storage = await this.client();
    const end = start + target.length - 1;
    const generation = opts.version.generation !== undefined ? Number(opts.version.generation) : undefined;
    const file = storage.bucket(loc.bucket).file(loc.key, generation !== undefined ? { generation } : {});
    const stream: Readable = file.createReadStream({ start, end, validation: false, decompress: false });
    let rangeError: unknown;
    stream.once('response', (res: { headers?: Record<string, string> }) => {
      const header = res.headers?.['content-range'];
      const served = res.headers?.['x-goog-generation'];
      try {
        // The pin is the request's generation; checking what was served also catches a server that ignores it.
        if (served !== undefined && generation !== undefined && served !== String(generation)) {
          throw new RangepoolError('PreconditionFailed', `generation ${served} was served, not ${generation}`, { uri: loc.uri });
        }
        // A whole-object 200 (no Content-Range) is fine when the range is the whole object.
        if (header !== undefined || start !== 0 || end !== opts.version.size - 1) checkContentRange(header, start, end, opts.version.size, loc.uri);
      } catch (e) {
        rangeError = e;
        stream.destroy(e as Error);
      }
    });
    const onAbort = () => stream.destroy(opts.signal.reason);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await pipeInto(stream, target, opts.onData, loc.uri, opts.limit);
    } catch (e) {
      this.fail(loc, rangeError ?? e);
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  async listPage(prefix: Location, cursor: string | undefined, _signal?: AbortSignal, delimiter?: '/'): Promise<ListPage> {
    const storage = await this.client();
    const [files, next, response] = await storage
      .bucket(prefix.bucket)
      .getFiles({ prefix: prefix.key, autoPaginate: false, maxResults: LIST_PAGE_KEYS, ...(delimiter ? { delimiter } : {}), ...(cursor ? { pageToken: cursor } : {}) })
      .catch((e) => this.fail(prefix, e));
    const folders = ((response as { prefixes?: unknown } | undefined)?.prefixes as string[] | undefined) ?? [];
    const entries = files.map((f) => ({
      key: f.name,
      size: Number(f.metadata.size ?? 0),
      etag: f.metadata.etag,
      lastModified: f.metadata.updated ? new Date(f.metadata.updated) : undefined,
    }));
    return { entries, folders, next: (next as { pageToken?: string } | null)?.pageToken };
  }

}
