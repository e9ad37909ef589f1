import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Storage } from '@google-cloud/storage';
import { defaultEngine, get, getObject, parseUri, release, storeFor } from '../../src/index.js';
import { startGcsEmulator } from '../../testing/emulators/gcs-emulator.js';
import { writerFor } from '../../testing/writers.js';
import { storeSuite } from '../support/store-suite.js';

let server: Awaited<ReturnType<typeof startGcsEmulator>>;
beforeAll(async () => {
  server = await startGcsEmulator(); // it has no bucket-create route: buckets appear on first upload
});
afterAll(() => server?.stop());

const storeOptions = () => ({ endpoint: server.endpoint, projectId: server.projectId });

storeSuite('gs on the firebase storage emulator (direct transport)', () => ({
  uri: (key) => `gs://suite/${key}`,
  missingBucketUri: (key) => `gs://no-such-bucket/${key}`,
  storeOptions: storeOptions(),
  transport: 'direct',
}));

storeSuite(
  'gs on the firebase storage emulator through the SDK transport',
  () => ({
    uri: (key) => `gs://suite/${key}`,
    missingBucketUri: (key) => `gs://no-such-bucket/${key}`,
    storeOptions: { ...storeOptions(), transport: 'sdk' },
    transport: 'sdk',
  }),
  { largest: 8 << 20 },
);

describe('gs on the firebase storage emulator: generation and checksums', () => {
  it('stat gives the generation and the crc32c the service keeps, and verify uses it', async () => {
    const store = await storeFor('gs://suite/x', storeOptions());
    const loc = parseUri('gs://suite/verified');
    await (await writerFor(loc.uri, storeOptions())).put(loc.uri, randomBytes(3 << 20));
    const meta = await store.stat(loc);
    expect(meta.generation).toMatch(/^\d+$/);
    expect(meta.checksums?.crc32c).toBeTypeOf('number');
    const obj = await defaultEngine().download(store, loc, meta, { verify: 'require' });
    expect(obj.stats.verified).toBe('crc32c');
    release(obj.buffer);
  });

  it('ranges are pinned to the generation: an overwrite after stat never comes back mixed', async () => {
    const store = await storeFor('gs://suite/x', storeOptions());
    const loc = parseUri('gs://suite/changing');
    const writer = await writerFor(loc.uri, storeOptions());
    await writer.put(loc.uri, randomBytes(2 << 20));
    const meta = await store.stat(loc);
    await writer.put(loc.uri, randomBytes(2 << 20));
    // The emulator ignores the generation in the request and serves the new bytes; the store sees the
    // served generation (x-goog-generation) differ from the pin and refuses them.
    await expect(defaultEngine().download(store, loc, meta)).rejects.toMatchObject({ code: 'PreconditionFailed' });
  });

  it('reads through STORAGE_EMULATOR_HOST too', async () => {
    const saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = server.endpoint; // with the scheme, as @google-cloud/storage documents it
    try {
      const data = randomBytes(100);
      await (await writerFor('gs://suite/env', storeOptions())).put('gs://suite/env', data);
      const buf = await get('gs://suite/env', { storeOptions: { projectId: server.projectId } });
      expect(buf.equals(data)).toBe(true);
      release(buf);
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
    }
  });
});

describe('gs on the firebase storage emulator: a Storage client of the caller', () => {
  it.each(['direct', 'sdk'] as const)('is used as it is configured (%s)', async (transport) => {
    const uri = 'gs://suite/own-client';
    await (await writerFor(uri, storeOptions())).put(uri, Buffer.from('via my client'));
    const client = new Storage({ apiEndpoint: server.endpoint, projectId: server.projectId });
    const obj = await getObject(uri, { storeOptions: { client, transport }, cache: false });
    expect(obj.buffer.toString()).toBe('via my client');
    expect(obj.stats.transport).toBe(transport);
    release(obj.buffer);
    await expect(get(uri, { storeOptions: { client: {} as Storage } })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
