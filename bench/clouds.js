// rangepool against each cloud SDK's own parallel download, on the emulators. Both emulators are
// conformance servers, not benchmark ones (the GCS emulator holds whole objects in memory at ~190 MiB/s):
// these figures say how the clients compare against the same slow server, not what the clouds do.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RangeEngine, get, release } from 'rangepool';

const MiB = 1 << 20;
const SIZE = 64 * MiB;
const PARALLEL = { azure: 4, gcs: 1 }; // the GCS emulator resets connections under more
const ROUNDS = 2;
const block = { partSize: 8 * MiB, concurrency: 8 };
const root = new URL('..', import.meta.url).pathname;
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function listening(port, child) {
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err.trim().split('\n').slice(-2).join(' ')}`);
    const ok = await new Promise((r) => connect(port, '127.0.0.1', function () { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port}: ${err.trim().split('\n').slice(-2).join(' ')}`);
}

const SAMPLES = 3;

async function timed(parallel, fn) {
  const t0 = performance.now();
  for (let r = 0; r < ROUNDS; r++) await Promise.all(Array.from({ length: parallel }, fn));
  return (parallel * ROUNDS * SIZE) / 2 ** 30 / ((performance.now() - t0) / 1000);
}

/** SAMPLES alternating samples of each side: medians, with the spread, and the ratio of the medians. */
async function compare(parallel, sdkFn, oursFn) {
  const sdk = [];
  const ours = [];
  for (let i = 0; i < SAMPLES; i++) {
    if (i % 2 === 0) {
      sdk.push(await timed(parallel, sdkFn));
      ours.push(await timed(parallel, oursFn));
    } else {
      ours.push(await timed(parallel, oursFn));
      sdk.push(await timed(parallel, sdkFn));
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cell = (xs) => `${med(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
  return `${cell(sdk)} | ${cell(ours)} | ${(med(ours) / med(sdk)).toFixed(2)}×`;
}

async function azure() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [join(root, 'node_modules/azurite/dist/src/blob/main.js'), '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--silent', '--skipApiVersionCheck', '--loose', '--disableTelemetry'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await listening(port, child);
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient('bench');
    await container.create();
    const blob = container.getBlockBlobClient('obj');
    await blob.uploadData(randomBytes(SIZE));
    const engine = new RangeEngine(block);
    const cells = await compare(
      PARALLEL.azure,
      () => blob.downloadToBuffer(0, undefined, { blockSize: block.partSize, concurrency: block.concurrency }),
      async () => release(await get('az://bench/obj', { engine, storeOptions: { connectionString } })),
    );
    return `| Azure (azurite) | BlobClient.downloadToBuffer | ${cells} |`;
  } finally {
    child.kill();
  }
}

async function gcs() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-gcs-'));
  const child = spawn(process.execPath, [join(root, 'test/support/gcs-emulator-main.cjs'), String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
  try {
    await listening(port, child);
    const { Storage, TransferManager } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'demo-test' });
    const file = storage.bucket('bench').file('obj');
    await file.save(randomBytes(SIZE), { resumable: false });
    const tm = new TransferManager(storage.bucket('bench'));
    const engine = new RangeEngine(block);
    let n = 0;
    // The SDK's chunked download writes a file: that is its API; ours keeps the bytes in memory.
    const cells = await compare(
      PARALLEL.gcs,
      () => tm.downloadFileInChunks(file, { destination: join(tmp, `out-${n++}`), chunkSizeBytes: block.partSize, concurrencyLimit: block.concurrency }),
      async () => release(await get('gs://bench/obj', { engine, storeOptions: { endpoint: `http://127.0.0.1:${port}`, projectId: 'demo-test' } })),
    );
    return `| GCS (firebase emulator, emulator-bound) | TransferManager.downloadFileInChunks (to a file) | ${cells} |`;
  } finally {
    child.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function cloudComparisons() {
  const rows = [
    '### Against the cloud SDKs on their emulators',
    '',
    `64 MiB objects, ${ROUNDS} rounds of ${PARALLEL.azure} parallel downloads on Azure and ${PARALLEL.gcs} on GCS, 8 MiB blocks, 8 per object on both sides; rangepool on its default (direct) transport. GiB/s as the median of ${SAMPLES} alternating samples (min–max).`,
    '',
    '| service | SDK path | SDK GiB/s | rangepool GiB/s | ratio of medians |',
    '| --- | --- | ---: | ---: | ---: |',
  ];
  for (const run of [azure, gcs]) {
    try {
      rows.push(await run());
    } catch (e) {
      rows.push(`| ${run.name} | failed: ${e.message} | | | |`);
    }
  }
  return rows;
}
