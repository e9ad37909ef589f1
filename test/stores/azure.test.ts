import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { defaultEngine, get, getObject, parseUri, release, storeFor } from '../../src/index.js';
import { startAzurite } from '../../testing/emulators/azurite.js';
import { writerFor } from '../../testing/writers.js';
import { storeSuite } from '../support/store-suite.js';

let server: Awaited<ReturnType<typeof startAzurite>>;
beforeAll(async () => {
  server = await startAzurite();
  await BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient('suite').create();
});
afterAll(() => server?.stop());

storeSuite('az on azurite (direct transport)', () => ({
  uri: (key) => `az://suite/${key}`,
  missingBucketUri: (key) => `az://no-such-container/${key}`,
  storeOptions: { connectionString: server.connectionString },
  transport: 'direct',
}));

storeSuite(
  'az on azurite through the SDK transport',
  () => ({
    uri: (key) => `az://suite/${key}`,
    missingBucketUri: (key) => `az://no-such-container/${key}`,
    storeOptions: { connectionString: server.connectionString, transport: 'sdk' },
    transport: 'sdk',
  }),
  { largest: 8 << 20 },
);

describe('az on azurite: credentials and consistency', () => {
  it('wrong credentials are AccessDenied', async () => {
    const err = await get('az://suite/anything', { storeOptions: { connectionString: server.wrongCredentials } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'AccessDenied', uri: 'az://suite/anything' });
  });

  it('every range carries If-Match: an overwrite after stat is PreconditionFailed', async () => {
    const storeOptions = { connectionString: server.connectionString };
    const store = await storeFor('az://suite/x', storeOptions);
    const loc = parseUri('az://suite/changing');
    const writer = await writerFor(loc.uri, storeOptions);
    await writer.put(loc.uri, randomBytes(1000));
    const meta = await store.stat(loc);
    await writer.put(loc.uri, randomBytes(1000));
    await expect(defaultEngine().download(store, loc, meta)).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('verify checks the Content-MD5 the service keeps', async () => {
    const storeOptions = { connectionString: server.connectionString };
    const data = randomBytes(3 << 20);
    await (await writerFor('az://suite/md5', storeOptions)).put('az://suite/md5', data);
    const obj = await getObject('az://suite/md5', { storeOptions, verify: 'require', cache: false });
    expect(obj.stats.verified).toBe('md5');
    expect(obj.buffer.equals(data)).toBe(true);
    release(obj.buffer);
  });

  it('a missing connection string is a clear InvalidArgument', async () => {
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    delete process.env.AZURE_STORAGE_CONNECTION_STRING;
    try {
      await expect(get('az://c/b', { storeOptions: { projectId: 'force-a-fresh-store' } })).rejects.toMatchObject({ code: 'InvalidArgument' });
    } finally {
      if (saved !== undefined) process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
  });
});

describe('az on azurite: a BlobServiceClient of the caller', () => {
  it.each(['direct', 'sdk'] as const)('is used as it is configured, and two clients never share a store (%s)', async (transport) => {
    const uri = 'az://suite/own-client';
    await (await writerFor(uri, { connectionString: server.connectionString })).put(uri, Buffer.from('via my client'));
    const client = BlobServiceClient.fromConnectionString(server.connectionString);
    const obj = await getObject(uri, { storeOptions: { client, transport }, cache: false });
    expect(obj.buffer.toString()).toBe('via my client');
    expect(obj.stats.transport).toBe(transport);
    release(obj.buffer);
    const wrong = BlobServiceClient.fromConnectionString(server.wrongCredentials);
    await expect(get(uri, { storeOptions: { client: wrong, transport } })).rejects.toMatchObject({ code: 'AccessDenied' });
  });
});
