import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, getObject, release, storeFor } from '../../src/index.js';
import { writerFor } from '../../testing/writers.js';
import { startS3rver } from '../../testing/emulators/s3rver.js';
import { storeSuite } from '../support/store-suite.js';

let server: Awaited<ReturnType<typeof startS3rver>>;
beforeAll(async () => {
  server = await startS3rver(['suite']);
});
afterAll(() => server?.stop());

storeSuite('s3 on s3rver (direct transport)', () => ({
  uri: (key) => `s3://suite/${key}`,
  missingBucketUri: (key) => `s3://no-such-bucket/${key}`,
  storeOptions: { endpoint: server.endpoint, credentials: server.credentials },
  transport: 'direct',
}));

storeSuite('s3 on s3rver through the SDK transport', () => ({
  uri: (key) => `s3://suite/${key}`,
  missingBucketUri: (key) => `s3://no-such-bucket/${key}`,
  storeOptions: { endpoint: server.endpoint, credentials: server.credentials, transport: 'sdk' },
  transport: 'sdk',
}));

describe('s3 on s3rver: credentials and clients the caller already has', () => {
  const uri = 's3://suite/creds';
  beforeAll(async () => {
    await (await writerFor(uri, { endpoint: server.endpoint, credentials: server.credentials })).put(uri, Buffer.from('secret bytes'));
  });

  it.each(['direct', 'sdk'] as const)('a credential provider function is called and used (%s)', async (transport) => {
    let calls = 0;
    const credentials = async () => (calls++, server.credentials);
    const buf = await get(uri, { storeOptions: { endpoint: server.endpoint, credentials, transport }, cache: false });
    expect(buf.toString()).toBe('secret bytes');
    expect(calls).toBeGreaterThan(0);
    release(buf);
  });

  it('different credential providers never share a store: a wrong one after a right one is AccessDenied', async () => {
    const right = async () => server.credentials;
    const wrong = async () => ({ accessKeyId: 'NOT-S3RVER', secretAccessKey: 'nope' });
    release(await get(uri, { storeOptions: { endpoint: server.endpoint, credentials: right } }));
    await expect(get(uri, { storeOptions: { endpoint: server.endpoint, credentials: wrong } })).rejects.toMatchObject({ code: 'AccessDenied' });
    expect(await storeFor(uri, { endpoint: server.endpoint, credentials: right })).not.toBe(await storeFor(uri, { endpoint: server.endpoint, credentials: wrong }));
    expect(await storeFor(uri, { endpoint: server.endpoint, credentials: right })).toBe(await storeFor(uri, { endpoint: server.endpoint, credentials: right }));
  });

  it.each(['direct', 'sdk'] as const)('an S3Client of the caller is used as it is configured (%s)', async (transport) => {
    const client = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: server.credentials });
    const obj = await getObject(uri, { storeOptions: { client, transport }, cache: false });
    expect(obj.buffer.toString()).toBe('secret bytes');
    expect(obj.stats.transport).toBe(transport);
    release(obj.buffer);
    const other = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'x' } });
    await expect(get(uri, { storeOptions: { client: other, transport } })).rejects.toMatchObject({ code: 'AccessDenied' });
  });

  it('a client that is not an S3Client is InvalidArgument', async () => {
    await expect(get(uri, { storeOptions: { client: {} as S3Client } })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('S3Client') });
  });
});
