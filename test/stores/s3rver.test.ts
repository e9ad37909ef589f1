import { afterAll, beforeAll } from 'vitest';
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
