// azurite (blob) on 127.0.0.1, in memory. Faithful to the service: If-Match gives 412, ranges are right.
import { fileURLToPath } from 'node:url';
import { startChild } from './child.js';
import { freePort, waitForPort } from './free-port.js';

const bin = fileURLToPath(new URL('../../node_modules/azurite/dist/src/blob/main.js', import.meta.url));
// The emulator's published development account.
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function connectionString(port: number, key = KEY): string {
  return `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
}

export async function startAzurite() {
  const port = await freePort();
  const args = [bin, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--silent', '--skipApiVersionCheck', '--loose', '--disableTelemetry'];
  const server = startChild(process.execPath, args);
  await waitForPort(port);
  return {
    port,
    connectionString: connectionString(port),
    /** Same account, wrong key: every request is refused. */
    wrongCredentials: connectionString(port, Buffer.alloc(64, 7).toString('base64')),
    stop: server.stop, // takes 1–4 s: it resolves only once the process is gone
  };
}
