// Writing objects for tests, straight through each cloud's SDK (or the file system): the library only
// reads, so writing is not part of its Store interface. Takes the same plain options the tests give stores.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseUri, type StoreOptions } from '../src/index.js';

export interface ObjectWriter {
  put(uri: string, data: Uint8Array): Promise<void>;
  delete(uri: string): Promise<void>;
}

async function s3(opts: StoreOptions): Promise<ObjectWriter> {
  const { S3Client, PutObjectCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: opts.endpoint,
    region: opts.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: opts.credentials as { accessKeyId: string; secretAccessKey: string },
    // s3rver and the loopback server take plain bodies, not the aws-chunked framing of the default.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    put: async (uri, data) => void (await client.send(new PutObjectCommand({ Bucket: parseUri(uri).bucket, Key: parseUri(uri).key, Body: data }))),
    delete: async (uri) => void (await client.send(new DeleteObjectCommand({ Bucket: parseUri(uri).bucket, Key: parseUri(uri).key }))),
  };
}

async function gcs(opts: StoreOptions): Promise<ObjectWriter> {
  const { Storage } = await import('@google-cloud/storage');
  const storage = new Storage({ apiEndpoint: opts.endpoint, projectId: opts.projectId });
  const file = (uri: string) => storage.bucket(parseUri(uri).bucket).file(parseUri(uri).key);
  return {
    put: async (uri, data) => file(uri).save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { resumable: false }),
    delete: async (uri) => void (await file(uri).delete()),
  };
}

async function azure(opts: StoreOptions): Promise<ObjectWriter> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  if (!opts.connectionString) throw new Error('the Azure test writer needs a connectionString');
  const service = BlobServiceClient.fromConnectionString(opts.connectionString);
  const blob = (uri: string) => service.getContainerClient(parseUri(uri).bucket).getBlockBlobClient(parseUri(uri).key);
  return {
    put: async (uri, data) => void (await blob(uri).uploadData(data)),
    delete: async (uri) => void (await blob(uri).deleteIfExists()),
  };
}

const files: ObjectWriter = {
  async put(uri, data) {
    const path = parseUri(uri).key;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.tmp`, data);
    await rename(`${path}.tmp`, path);
  },
  delete: (uri) => rm(parseUri(uri).key, { force: true }),
};

/** A writer for the URI's scheme. */
export function writerFor(uri: string, opts: StoreOptions = {}): Promise<ObjectWriter> {
  switch (parseUri(uri, { prefix: true }).scheme) {
    case 's3':
      return s3(opts);
    case 'gs':
      return gcs(opts);
    case 'az':
      return azure(opts);
    case 'file':
    case 'direct':
      return Promise.resolve(files);
    default:
      throw new Error(`no test writer for ${uri}`);
  }
}
