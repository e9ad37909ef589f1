import { parseUri, type Location, type Scheme } from '../uri.js';
import { FileStore } from './file.js';
import type { Store } from './store.js';

/** Connection settings for the cloud stores; each store reads the fields it knows. */
export interface StoreOptions {
  /** S3: endpoint URL (default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL); GCS: API endpoint (default STORAGE_EMULATOR_HOST). */
  endpoint?: string;
  /** S3 region (default AWS_REGION, else us-east-1). */
  region?: string;
  /** S3 static credentials (default: the SDK's provider chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** S3 path-style addressing (default: on for IP and localhost endpoints). */
  forcePathStyle?: boolean;
  /** Sockets per host for HTTP stores; at least the engine's in-flight limit. */
  maxSockets?: number;
  /** Azure connection string (default AZURE_STORAGE_CONNECTION_STRING). */
  connectionString?: string;
  /** GCS project id. */
  projectId?: string;
}

const stores = new Map<string, Promise<Store>>();

async function make(scheme: Scheme, opts: StoreOptions): Promise<Store> {
  switch (scheme) {
    case 'file':
      return new FileStore(false);
    case 'direct':
      return new FileStore(true);
    case 's3':
      return new (await import('./s3.js')).S3Store(opts);
    case 'gs':
      return new (await import('./gcs.js')).GcsStore(opts);
    case 'az':
      return new (await import('./azure.js')).AzureStore(opts);
  }
}

/** The store for a URI's scheme and these options: one per configuration, so clients and sockets are shared. */
export function storeFor(uri: string | Location, opts: StoreOptions = {}): Promise<Store> {
  const loc = typeof uri === 'string' ? parseUri(uri, { prefix: true }) : uri;
  const key = `${loc.scheme}|${JSON.stringify(opts)}`;
  let store = stores.get(key);
  if (!store) {
    store = make(loc.scheme, opts);
    stores.set(key, store);
    store.catch(() => stores.delete(key));
  }
  return store;
}
