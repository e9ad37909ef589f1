// rangepool against each cloud SDK's own parallel download, on the emulators. Both emulators are
// conformance servers, not benchmark ones (the GCS emulator holds whole objects in memory at ~190 MiB/s):
// these figures say how the clients compare against the same slow server, not what the clouds do.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RangeEngine, get, release } from '../src/index.js';
import { startAzurite } from '../testing/emulators/azurite.js';
import { startGcsEmulator } from '../testing/emulators/gcs-emulator.js';

const MiB = 1 << 20;
const SIZE = 64 * MiB;
const PARALLEL = { azure: 4, gcs: 1 }; // the GCS emulator resets connections under more
const ROUNDS = 2;
const block = { partSize: 8 * MiB, concurrency: 8 };

const SAMPLES = 3;

async function timed(parallel: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let r = 0; r < ROUNDS; r++) await Promise.all(Array.from({ length: parallel }, fn));
  return (parallel * ROUNDS * SIZE) / 2 ** 30 / ((performance.now() - t0) / 1000);
}

/** SAMPLES alternating samples of each side: medians, with the spread, and the ratio of the medians. */
async function compare(parallel: number, sdkFn: () => Promise<unknown>, oursFn: () => Promise<unknown>): Promise<string> {
  const sdk: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    if (i % 2 === 0) {
      sdk.push(await timed(parallel, sdkFn));
      ours.push(await timed(parallel, oursFn));
    } else {
      ours.push(await timed(parallel, oursFn));
      sdk.push(await timed(parallel, sdkFn));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cell = (xs: number[]) => `${med(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
  return `${cell(sdk)} | ${cell(ours)} | ${(med(ours) / med(sdk)).toFixed(2)}×`;
}

async function azure(): Promise<string> {
  const azurite = await startAzurite();
  try {
    const { connectionString } = azurite;
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
    await azurite.stop();
  }
}

async function gcs(): Promise<string> {
  const emulator = await startGcsEmulator();
  const tmp = mkdtempSync(join(tmpdir(), 'bench-gcs-'));
  try {
    const { endpoint, projectId } = emulator;
    const { Storage, TransferManager } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: endpoint, projectId });
    const file = storage.bucket('bench').file('obj');
    await file.save(randomBytes(SIZE), { resumable: false });
    const tm = new TransferManager(storage.bucket('bench'));
    const engine = new RangeEngine(block);
    let n = 0;
    // The SDK's chunked download writes a file: that is its API; ours keeps the bytes in memory.
    const cells = await compare(
      PARALLEL.gcs,
      () => tm.downloadFileInChunks(file, { destination: join(tmp, `out-${n++}`), chunkSizeBytes: block.partSize, concurrencyLimit: block.concurrency }),
      async () => release(await get('gs://bench/obj', { engine, storeOptions: { endpoint, projectId } })),
    );
    return `| GCS (firebase emulator, emulator-bound) | TransferManager.downloadFileInChunks (to a file) | ${cells} |`;
  } finally {
    await emulator.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function cloudComparisons(): Promise<string[]> {
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
      rows.push(`| ${run.name} | failed: ${(e as Error).message} | | | |`);
    }
  }
  return rows;
}
