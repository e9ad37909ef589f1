#!/usr/bin/env node
// The `rangepool` command: get, stat, ls (and bench, from a checkout). Data goes to stdout only with
// `-o -`; messages, the progress bar and errors go to stderr.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command, CommanderError, Option } from 'commander';
import { getObject, list, listEach, stat } from '../api.js';
import { RangeEngine } from '../engine/engine.js';
import { invalidArgument, printable } from '../errors.js';
import { packageRoot } from '../native.js';
import { BufferPool, defaultPool, release } from '../pool/index.js';
import type { StoreOptions } from '../stores/registry.js';
import type { ObjectMeta } from '../stores/store.js';
import { parseUri } from '../uri.js';
import { EXIT, describe, exitCodeFor } from './exit-codes.js';
import { defaultOutputName, writeOutput } from './output.js';
import { progressBar } from './progress.js';
import { formatSize, parseSize } from './sizes.js';

interface Common {
  /** undefined unless a switch was given (commander leaves the default unset when both forms exist). */
  bufferPool?: boolean;
  bufferPoolSize?: number;
  partSize?: number;
  concurrency?: number;
  endpoint?: string;
  region?: string;
  verify?: boolean;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

/** A whole number of at least `min` (0 for counts that may be zero, 1 for ones that may not). */
const wholeNumber = (what: string, min: 0 | 1) => (text: string) => {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw invalidArgument(`${what} must be a whole number${min ? ' of at least 1' : ''}, got ${JSON.stringify(text)}`);
  }
  return n;
};

/** This package's version, from its own package.json (npm_package_version is the version of the app running it). */
function ownVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Switches every command takes: where the service is, and how to print. */
function withService(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'S3 or GCS endpoint (default: AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST)')
    .option('--region <region>', 'S3 region (default: AWS_REGION, else us-east-1)')
    .option('--json', 'machine-readable output')
    .option('--debug', 'print stack traces');
}

/** Switches of the commands that download: how ranges are fetched and where their bytes go. */
function withDownload(cmd: Command): Command {
  return withService(cmd)
    .option('--buffer-pool', 'reuse pooled off-heap buffers (default)')
    .option('--no-buffer-pool', 'allocate a fresh buffer for every download')
    .option('--buffer-pool-size <n>', 'idle buffers kept per size class (default 16)', wholeNumber('--buffer-pool-size', 0))
    .option('--part-size <size>', 'bytes per ranged request, e.g. 8MiB (default 16MiB)', (t) => parseSize(t, '--part-size'))
    .option('--concurrency <n>', 'ranges of one object in flight (default 8)', wholeNumber('--concurrency', 1))
    .option('--verify', "check the service's whole-object checksum")
    .option('-q, --quiet', 'no progress bar or summary');
}

function storeOptions(o: Common): StoreOptions {
  return { ...(o.endpoint ? { endpoint: o.endpoint } : {}), ...(o.region ? { region: o.region } : {}) };
}

function poolFor(o: Common): BufferPool {
  if (o.bufferPool === false) return new BufferPool({ idlePerClass: 0 }); // every block fresh from the OS, unmapped on release
  return o.bufferPoolSize !== undefined ? new BufferPool({ idlePerClass: o.bufferPoolSize }) : defaultPool();
}

/** JSON with the BigInt CRC-64 as hex. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString(16).padStart(16, '0') : v), 2);
}

function checksumsText(meta: ObjectMeta): string[] {
  const c = meta.checksums ?? {};
  const out: string[] = [];
  if (c.crc32c !== undefined) out.push(`crc32c:    ${c.crc32c.toString(16).padStart(8, '0')}`);
  if (c.crc64nvme !== undefined) out.push(`crc64nvme: ${c.crc64nvme.toString(16).padStart(16, '0')}`);
  if (c.md5 !== undefined) out.push(`md5:       ${c.md5}`);
  return out;
}

async function getCommand(uri: string, o: Common & { output?: string }): Promise<void> {
  const loc = parseUri(uri);
  const output = o.output ?? defaultOutputName(loc.key);
  const toStdout = output === '-';
  const pool = poolFor(o);
  const bar = progressBar(!o.quiet && !o.json);
  const engine = new RangeEngine({ ...(o.partSize ? { partSize: o.partSize } : {}), ...(o.concurrency ? { concurrency: o.concurrency } : {}) });
  let obj;
  try {
    obj = await getObject(uri, { pool, engine, storeOptions: storeOptions(o), verify: o.verify ? 'require' : false, onProgress: (p) => bar.update(p.bytes, p.total) });
  } finally {
    bar.stop();
  }
  try {
    if (toStdout) {
      await new Promise<void>((resolve, reject) => process.stdout.write(obj.buffer, (e) => (e && (e as NodeJS.ErrnoException).code !== 'EPIPE' ? reject(e) : resolve())));
    } else {
      await writeOutput(output, obj.buffer); // atomic: readers never see a partial file under the final name
    }
  } finally {
    release(obj.buffer); // only after the write completed: a pending write holds the memory
  }
  await new Promise((r) => setImmediate(r)); // the block is back in the pool at the next turn: report that
  const { stats, meta } = obj;
  if (o.json) {
    const report = toJson({ uri, output, meta, stats, pool: { native: pool.native, ...pool.stats() } });
    (toStdout ? process.stderr : process.stdout).write(report + '\n');
  } else if (!o.quiet) {
    const rate = formatSize(stats.bytesPerSecond);
    process.stderr.write(`${uri} → ${toStdout ? 'stdout' : output}: ${formatSize(stats.bytes)} in ${(stats.elapsedMs / 1000).toFixed(2)} s (${rate}/s, ${stats.ranges} ranges, ${stats.retries} retries${stats.verified ? `, ${stats.verified} verified` : ''})\n`);
  }
}

async function statCommand(uri: string, o: Common): Promise<void> {
  const meta = await stat(uri, { storeOptions: storeOptions(o) });
  if (o.json) return void process.stdout.write(toJson({ uri, ...meta }) + '\n');
  const lines = [
    `uri:       ${uri}`,
    `size:      ${meta.size} (${formatSize(meta.size)})`,
    ...(meta.etag ? [`etag:      ${printable(meta.etag)}`] : []),
    ...(meta.generation ? [`generation: ${printable(meta.generation)}`] : []),
    ...(meta.lastModified ? [`modified:  ${meta.lastModified.toISOString()}`] : []),
    ...checksumsText(meta),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function lsCommand(prefix: string, o: Common): Promise<void> {
  if (o.json) return void process.stdout.write(toJson(await list(prefix, { storeOptions: storeOptions(o) })) + '\n');
  for await (const e of listEach(prefix, { storeOptions: storeOptions(o) })) {
    const when = e.lastModified ? e.lastModified.toISOString().replace('T', ' ').slice(0, 19) : ''.padEnd(19);
    process.stdout.write(`${when} ${String(e.size).padStart(12)} ${printable(e.key)}\n`); // keys come from the server
  }
}

function benchCommand(args: string[]): void {
  const script = join(packageRoot, 'bench', 'index.ts');
  if (!existsSync(script)) throw invalidArgument('the benchmark ships with the source repository, not the package: run it from a checkout');
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], { stdio: 'inherit', cwd: packageRoot });
  process.exitCode = r.status ?? EXIT.other;
}

const program = new Command('rangepool')
  .description('Fast, memory-steady downloads of large objects from S3, GCS, Azure Blob and local files.')
  .version(ownVersion())
  .exitOverride()
  .addHelpText(
    'after',
    `
URIs: s3://bucket/key  gs://bucket/key  az://container/blob  file:///abs/path  direct:///abs/path
Environment: AWS_ENDPOINT_URL(_S3), AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
             AZURE_STORAGE_CONNECTION_STRING, STORAGE_EMULATOR_HOST
Exit codes: 0 ok, 1 other error, 2 bad usage, 3 not found, 4 access denied, 5 integrity error`,
  );

const run =
  <A extends unknown[]>(fn: (...args: A) => Promise<void> | void) =>
  async (...args: A) => {
    await fn(...args);
  };

withDownload(program.command('get').argument('<uri>', 'the object').description('download an object to a file (-o FILE) or stdout (-o -)'))
  .addOption(new Option('-o, --output <file>', "where to write it ('-' for stdout; default: the key's base name)"))
  .action(run((uri: string, o: Common & { output?: string }) => getCommand(uri, o)));
withService(program.command('stat').argument('<uri>', 'the object').description('size, ETag/generation, checksums, last modified'))
  .action(run((uri: string, o: Common) => statCommand(uri, o)));
withService(program.command('ls').argument('<prefix>', 'a prefix URI, e.g. s3://bucket/dir/').description('list keys and sizes'))
  .action(run((prefix: string, o: Common) => lsCommand(prefix, o)));
program
  .command('bench')
  .description('run the benchmark (from a checkout; see npm run bench)')
  .allowUnknownOption()
  .argument('[args...]')
  .action((args: string[]) => benchCommand(args));

// A reader that closes stdout early (rangepool get … -o - | head -c 10) ends the output quietly, as other tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(EXIT.ok);
});

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof CommanderError) {
    // Help and version exit 0; everything else commander rejects is bad usage (it printed why).
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    const debug = process.argv.includes('--debug');
    process.stderr.write(`rangepool: ${describe(e)}\n${debug && e instanceof Error ? `${e.stack}\n` : ''}`);
    process.exitCode = exitCodeFor(e);
  }
}
