// The firebase storage emulator (GCS JSON API) on 127.0.0.1, in its own process with its own TMPDIR.
// A conformance server, not a benchmark one: it ignores preconditions and holds whole objects in memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './child.js';
import { freePort, waitForPort } from './free-port.js';

const main = fileURLToPath(new URL('./gcs-emulator-main.cjs', import.meta.url));

export async function startGcsEmulator() {
  const dir = mkdtempSync(join(tmpdir(), 'gcs-emu-'));
  const port = await freePort();
  const server = startChild(process.execPath, [main, String(port)], { TMPDIR: dir, FIREBASE_CLI_EXPERIMENTS: '' });
  await waitForPort(port, 60_000).catch((e) => {
    throw new Error(`${e.message}\n${server.output()}`);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    projectId: 'demo-test',
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
