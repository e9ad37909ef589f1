#!/usr/bin/env node
// The `rangepool` command: get, cat, stat, ls (and bench, from a checkout). Data goes to stdout only
// with `-o -` and cat; messages, the progress bar and errors go to stderr.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command, CommanderError, Option } from 'commander';
import { list, listEach, stat } from '../api.js';
import { invalidArgument, printable } from '../errors.js';
import { localError } from '../files/output-file.js';
import { packageRoot } from '../native.js';
import { parseUri } from '../uri.js';
import { redactUri } from '../redact.js';
import type { ObjectMeta } from '../stores/store.js';
import { EXIT, describe, exitCodeFor } from './exit-codes.js';
import { printedChecksums, storeOptions, toJson, wholeNumber, withDownload, withService, withStream, type Common } from './options.js';
import { formatSize } from './sizes.js';
import { listGrouped } from './listing.js';
import { filterOption } from './filters.js';
import { toUri } from './uris.js';
import { catCommand, getCommand, type GetSwitches } from './transfer.js';

// The AWS SDK's notice about Node versions it will drop is for the people who pick a Node version, printed
// on every run of a command: the command line stays quiet unless the user asked for it (set to 'false').
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// An empty setting is an unset one, as aws-cli reads them (the SDK takes AWS_REGION='' as a region named '').
for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3']) if (process.env[name] === '') delete process.env[name];

// SIGINT and SIGTERM abort what runs (a file being written is kept for the next run to continue, or
// removed with --no-resume), then exit 130 or 143; a second signal kills at once.
const interrupt = new AbortController();
let signalled: NodeJS.Signals | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    signalled = sig;
    interrupt.abort();
  });
}

/** This package's version, from its own package.json (npm_package_version is the version of the app running it). */
function ownVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

function checksumsText(meta: ObjectMeta): string[] {
  return Object.entries(printedChecksums(meta.checksums ?? {})).map(([k, v]) => `${`${k}:`.padEnd(11)}${v}`);
}

async function statCommand(uri: string, o: Common): Promise<void> {
  const meta = await stat(uri, { storeOptions: storeOptions(o), signal: interrupt.signal });
  if (o.json) return void process.stdout.write(toJson({ uri: redactUri(uri), ...meta }) + '\n');
  const lines = [
    `uri:       ${printable(redactUri(uri))}`,
    `size:      ${meta.size} (${formatSize(meta.size)})`,
    ...(meta.etag ? [`etag:      ${printable(meta.etag)}`] : []),
    ...(meta.generation ? [`generation: ${printable(meta.generation)}`] : []),
    ...(meta.lastModified ? [`modified:  ${meta.lastModified.toISOString()}`] : []),
    ...checksumsText(meta),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function lsCommand(prefix: string, o: Common & { recursive?: boolean }): Promise<void> {
  const opts = { storeOptions: storeOptions(o), signal: interrupt.signal };
  if (o.json) return void process.stdout.write(toJson(await list(prefix, opts)) + '\n');
  const recursive = o.recursive ?? false;
  await listGrouped(listEach(prefix, { ...opts, delimiter: recursive ? undefined : '/' }), parseUri(prefix, { prefix: true }).key, recursive, (line) => process.stdout.write(`${line}\n`));
}

const benchScript = join(packageRoot, 'bench', 'index.ts');

function benchCommand(args: string[]): void {
  if (!existsSync(benchScript)) throw invalidArgument('the benchmark ships with the source repository, not the package: run it from a checkout');
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', benchScript, ...args], { stdio: 'inherit', cwd: packageRoot });
  process.exitCode = r.status ?? EXIT.other;
}

const program = new Command('rangepool')
  .description('Fast, memory-steady downloads of large objects from S3, GCS, Azure Blob and local files.')
  .version(ownVersion())
  .exitOverride()
  .addHelpText(
    'after',
    `
URIs: s3://bucket/key  gs://bucket/key  az://container/blob  https://host/path  file:///abs/path (or a plain path)
Environment: AWS_ENDPOINT_URL(_S3), AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
             AZURE_STORAGE_CONNECTION_STRING, STORAGE_EMULATOR_HOST
Exit codes: 0 ok, 1 other error, 2 bad usage, 3 not found, 4 access denied, 5 integrity error, 6 local fault (disk full, permission, broken pipe)`,
  );

const run =
  <A extends unknown[]>(fn: (...args: A) => Promise<void> | void) =>
  async (...args: A) => {
    await fn(...args);
  };

withDownload(
  program
    .command('get')
    .argument('<uri...>', 'the object, several objects, or with --recursive a prefix')
    .description('download an object to a file (-o FILE) or stdout (-o -); several objects, or every object under a prefix, to a directory (-o DIR/)'),
)
  .addOption(new Option('-o, --output <path>', "where to write it: a file, a directory to put it in (DIR or DIR/), '-' for stdout; default: the key's base name"))
  .option('-r, --recursive', 'every object under the prefix URI, into -o DIR/ (the tree mirrors the keys)')
  .option('--objects <n>', 'objects in flight at once (default: from the pool cap and their sizes)', wholeNumber('--objects', 1))
  .option('--include <pattern>', 'with -r: fetch keys (below the prefix) that match, e.g. "*.safetensors"; with --exclude, the last match decides', filterOption(true))
  .option('--exclude <pattern>', 'with -r: skip keys that match, e.g. "*/optimizer/*" (* matches across /, as in aws-cli)', filterOption(false))
  .option('--no-clobber', 'never replace a file that exists (it is skipped)')
  .option('--skip-unchanged', 'skip a file of the object\'s size and Last-Modified time (as aws s3 sync, rclone copy)')
  .option('--dry-run', 'say what would be fetched and skipped, fetch nothing')
  .action(run((uris: string[], o: GetSwitches) => getCommand(uris.map((u) => toUri(u, o.recursive)), o, interrupt.signal)));
withStream(program.command('cat').argument('<uri>', 'the object').description('write an object of any size to stdout'))
  .action(run((uri: string, o: Common) => catCommand(toUri(uri), o, interrupt.signal)));
withService(program.command('stat').argument('<uri>', 'the object').description('size, ETag/generation, checksums, last modified'))
  .action(run((uri: string, o: Common) => statCommand(toUri(uri), o)));
withService(program.command('ls').argument('<prefix>', 'a prefix URI, e.g. s3://bucket/dir/').description('list objects and folders (PRE) under a prefix, sizes and a total'))
  .option('-r, --recursive', 'every key under the prefix, not grouped by folder')
  .action(run((prefix: string, o: Common & { recursive?: boolean }) => lsCommand(toUri(prefix, true), o)));
program
  .command('bench', { hidden: !existsSync(benchScript) })
  .description('run the benchmark (from a checkout; see npm run bench)')
  .allowUnknownOption()
  .argument('[args...]')
  .action((args: string[]) => benchCommand(args));

// A reader that closes stdout early (rangepool get … -o - | head -c 10) ends the output quietly, as other
// tools do; any other fault writing it (cat … > /dev/full) is a local one, said in one line.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(EXIT.ok);
  process.stderr.write(`rangepool: ${describe(localError(e, 'stdout'))}\n`);
  process.exit(EXIT.local);
});

try {
  await program.parseAsync();
} catch (e) {
  if (signalled) {
    process.exitCode = signalled === 'SIGINT' ? 130 : 143;
  } else if (e instanceof CommanderError) {
    // Help and version exit 0; everything else commander rejects is bad usage (it printed why).
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    const debug = process.argv.includes('--debug');
    process.stderr.write(`rangepool: ${describe(e)}\n${debug && e instanceof Error ? `${e.stack}\n` : ''}`);
    process.exitCode = exitCodeFor(e);
  }
}
