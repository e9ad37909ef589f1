// s3rver on 127.0.0.1 for the S3 store's conformance tests. It ignores If-Match, keeps no checksums and
// answers suffix ranges wrongly: those paths are tested against the project's loopback server instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './child.js';
import { freePort, waitForPort } from './free-port.js';

const bin = fileURLToPath(new URL('../../node_modules/s3rver/bin/s3rver.js', import.meta.url));

export async function startS3rver(buckets: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-'));
  const port = await freePort();
  const args = [bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s', ...buckets.flatMap((b) => ['--configure-bucket', b])];
  const server = startChild(process.execPath, args);
  await waitForPort(port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
