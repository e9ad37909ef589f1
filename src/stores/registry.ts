import { parseUri, type Location, type Scheme } from '../uri.js';
import type { AzureStoreOptions } from './azure.js';
import { FileStore } from './file.js';
import type { GcsStoreOptions } from './gcs.js';
import type { S3StoreOptions } from './s3.js';
import type { UrlStoreOptions } from './url.js';
import { optionsKey } from './options-key.js';
import type { Store } from './store.js';

type Shared<T> = Omit<T, 'client'>;

/**
 * Connection settings for the cloud stores: each store reads the fields it knows. `client` is an SDK
 * client you already have (an S3Client, a GCS Storage or a BlobServiceClient), used as it is configured.
 */
export type StoreOptions = Shared<S3StoreOptions> &
  Shared<GcsStoreOptions> &
  UrlStoreOptions &
  Shared<AzureStoreOptions> & { client?: S3StoreOptions['client'] | GcsStoreOptions['client'] | AzureStoreOptions['client'] };

const stores = new Map<string, Promise<Store>>();

async function make(scheme: Scheme, opts: StoreOptions): Promise<Store> {
  switch (scheme) {
    case 'file':
      return new FileStore(false);
    case 'direct':
      return new FileStore(true);
    case 's3':
      return new (await import('./s3.js')).S3Store(opts as S3StoreOptions);
    case 'gs':
      return new (await import('./gcs.js')).GcsStore(opts as GcsStoreOptions);
    case 'az':
      return new (await import('./azure.js')).AzureStore(opts as AzureStoreOptions);
    case 'http':
    case 'https':
      return new (await import('./url.js')).UrlStore(opts);
  }
}

/** The store for a URI's scheme and these options: one per configuration, so clients and sockets are shared. */
export function storeFor(uri: string | Location, opts: StoreOptions = {}): Promise<Store> {
  const loc = typeof uri === 'string' ? parseUri(uri, { prefix: true }) : uri;
  const key = `${loc.scheme}|${optionsKey(opts)}`;
  let store = stores.get(key);
  if (!store) {
    store = make(loc.scheme, opts);
    stores.set(key, store);
    store.catch(() => stores.delete(key));
  }
  return store;
}
