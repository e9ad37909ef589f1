// `rangepool get` (one object to a file or stdout; several, or a whole prefix with --recursive, to a
// directory) and `rangepool cat`. Memory stays at the read-ahead window whatever the sizes.
import { existsSync, readdirSync } from 'node:fs';
import { stat as statPath } from 'node:fs/promises';
import { download, type DownloadFileResult } from '../download-to-file.js';
import { RangepoolError, invalidArgument, printable } from '../errors.js';
import { Digester, sameDigest, type Digest } from '../files/digest.js';
import { localError } from '../files/output-file.js';
import { partFilePath } from '../files/part-file.js';
import { getMany, type ManyResult } from '../get-many.js';
import { stat } from '../api.js';
import { stream } from '../stream.js';
import type { DownloadStats } from '../engine/types.js';
import { strongValidator } from '../engine/pin.js';
import type { ObjectMeta } from '../stores/store.js';
import { redactUri } from '../redact.js';
import { keyPath, parseUri } from '../uri.js';
import { EXIT, describe, exitCodeFor } from './exit-codes.js';
import { filterKeys, type Filter } from './filters.js';
import { keepReason, stampTime } from './local-copy.js';
import { engineFor, poolFor, storeOptions, toJson, type Common } from './options.js';
import { outputFor } from './output.js';
import { progressFor, type ProgressSwitches } from './progress.js';
import { formatSize } from './sizes.js';

export interface GetSwitches extends Common, ProgressSwitches {
  output?: string;
  recursive?: boolean;
  objects?: number;
  /** false with --no-clobber. */
  clobber?: boolean;
  skipUnchanged?: boolean;
  dryRun?: boolean;
  /** --include and --exclude: one list in the order given (either key holds it). */
  include?: Filter[];
  exclude?: Filter[];
}

function summary(what: string, stats: DownloadStats, resumedBytes = 0, meta?: ObjectMeta, directBytes?: number): string {
  const network = [
    `${stats.connections} at once`,
    stats.firstByteMs > 0 ? `first byte ${stats.firstByteMs} ms` : '',
    stats.stragglers > 0 ? `${stats.stragglers} stragglers re-asked` : '',
    stats.throttled > 0 ? `${stats.throttled} throttled` : '',
  ].filter(Boolean);
  // Continued against a date (--trust-last-modified): said, with the date and size it was held to.
  const byDate = meta && !strongValidator(meta) && meta.lastModified ? ` (held to Last-Modified ${meta.lastModified.toUTCString()} and ${meta.size} bytes)` : '';
  const resumed = resumedBytes > 0 ? `, continued after ${formatSize(resumedBytes)} already there${byDate}` : '';
  const direct = directBytes !== undefined ? `, ${formatSize(directBytes)} through O_DIRECT` : '';
  return `${what}: ${formatSize(stats.bytes)} in ${(stats.elapsedMs / 1000).toFixed(2)} s (${formatSize(stats.bytesPerSecond)}/s, ${stats.ranges} ranges, ${network.join(', ')}, ${stats.retries} retries${stats.verified ? `, ${stats.verified} verified` : ''}${resumed}${direct})`;
}

/** --range as offset and length: START-END runs to the end at most (as curl -r); the last N bytes need the size (one stat). */
async function spanOf(uri: string, o: Common, signal: AbortSignal): Promise<{ offset?: number; length?: number; clampToSize?: boolean }> {
  const r = o.range;
  if (!r) return {};
  if ('start' in r) return { offset: r.start, ...(r.end !== undefined ? { length: r.end - r.start + 1 } : {}), clampToSize: true };
  const { size } = await stat(uri, { storeOptions: storeOptions(o), signal });
  return { offset: Math.max(0, size - r.last), length: Math.min(size, r.last) };
}

/** A leftover kept for the next run, named so the user knows what it is. */
function keptNote(path: string): string | undefined {
  const tmp = partFilePath(path);
  return existsSync(`${tmp}.state`) ? `rangepool: what was written is kept in ${printable(tmp)}: run the same command again to continue (--no-resume starts over)` : undefined;
}

/**
 * A --checksum's value, as sha256sum prints one (VALUE  PATH; with -q too, since it was asked for): on
 * stderr, where stdout may be the data. A mismatch on stdout (written already) is an IntegrityError.
 */
function digestSaid(value: string, asked: { algorithm: Digest; expected?: string }, where: string, o: { json?: boolean }): void {
  if (!o.json) process.stderr.write(`${asked.algorithm} ${value}  ${printable(where)}\n`);
  if (asked.expected !== undefined && !sameDigest(value, asked.expected)) {
    throw new RangepoolError('IntegrityError', `the ${asked.algorithm} of the bytes received is ${value}, not the ${printable(asked.expected)} expected`);
  }
}

/** A --checksum's value as --json gives it: `digest: { sha256: HEX }`. */
const digestField = (value: string | undefined, o: Common) => (value && o.checksum ? { digest: { [o.checksum.algorithm]: value } } : {});

/** Leftovers kept for the next run under `dir` (their states), said in one line so the user knows what they are. */
function keptUnder(dir: string): string | undefined {
  let kept = 0;
  try {
    for (const name of readdirSync(dir, { recursive: true }) as string[]) if (name.endsWith('.rangepool-tmp.state')) kept++;
  } catch {
    return undefined;
  }
  return kept > 0 ? `rangepool: what was written of ${kept} object${kept === 1 ? '' : 's'} is kept beside ${kept === 1 ? 'it' : 'them'} (.NAME.rangepool-tmp) under ${printable(dir)}: run the same command again to continue (--no-resume starts over)` : undefined;
}

/** Writes the object to stdout chunk by chunk; each chunk goes back to the pool once its write is done. */
async function toStdout(uri: string, o: Common & ProgressSwitches & { notBinaryToTerminal?: boolean }, signal: AbortSignal): Promise<void> {
  const bar = progressFor(o);
  const span = await spanOf(uri, o, signal);
  const pool = poolFor(o);
  const s = stream(uri, { ...span, pool, engine: engineFor(o), storeOptions: storeOptions(o), verify: o.verify ? 'require' : false, signal, onProgress: (p) => bar.update(p.bytes, p.total) });
  let bytes = 0;
  const digester = o.checksum && new Digester(o.checksum.algorithm);
  try {
    for await (const chunk of s) {
      digester?.update(chunk);
      // As curl does: binary bytes would garble a terminal (and may be escape sequences from the server).
      if (bytes === 0 && o.notBinaryToTerminal && process.stdout.isTTY && chunk.includes(0)) {
        throw invalidArgument('the object is binary and stdout is a terminal: redirect it (> FILE, | program) or use get -o FILE');
      }
      await new Promise<void>((resolve, reject) => process.stdout.write(chunk, (e) => (e ? reject(localError(e, 'stdout')) : resolve())));
      bytes += chunk.length;
    }
  } finally {
    bar.stop();
  }
  await new Promise((resolve) => setImmediate(resolve)); // the last chunk is back in the pool at the next turn
  const digest = digester?.value();
  if (o.json) process.stderr.write(toJson({ uri: redactUri(uri), output: '-', meta: s.meta, stats: s.stats, ...digestField(digest, o), pool: { native: pool.native, ...pool.stats() } }) + '\n');
  else if (!o.quiet) process.stderr.write(summary(`${printable(redactUri(uri))} → stdout`, s.stats!) + '\n');
  if (digest) digestSaid(digest, o.checksum!, 'stdout', o); // (the bytes are written: a mismatch can only be said)
}

export async function catCommand(uri: string, o: Common, signal: AbortSignal): Promise<void> {
  await toStdout(uri, { ...o, quiet: true, json: false, notBinaryToTerminal: true }, signal);
}

export async function getCommand(uris: string[], o: GetSwitches, signal: AbortSignal): Promise<void> {
  if (!o.recursive && uris.some((u) => u.endsWith('/'))) throw invalidArgument(`${printable(redactUri(uris.find((u) => u.endsWith('/'))!))} is a prefix (it ends in /): add --recursive to get the objects under it`);
  if (!o.recursive && (o.include ?? o.exclude)?.length) throw invalidArgument('--include and --exclude pick objects under a prefix: use them with --recursive');
  const many = o.recursive || uris.length > 1;
  if (!many) return getOne(uris[0]!, o, signal);
  if (o.range) throw invalidArgument('--range reads a part of one object, not of several');
  if (o.checksum?.expected !== undefined) throw invalidArgument('--checksum ALGO=VALUE checks one object: with several, give --checksum ALGO (each is printed)');
  if (!o.output || o.output === '-') throw invalidArgument('several objects (or --recursive) need -o DIR, a directory to write them under');
  if (o.recursive && uris.length > 1) throw invalidArgument('--recursive takes one prefix URI');
  const existing = await statPath(o.output).catch(() => undefined); // through a link, as the writes will go
  if (existing && !existing.isDirectory()) {
    throw invalidArgument(`-o ${printable(o.output)} is not a directory: several objects (or --recursive) are written under a directory`);
  }
  await manyToDirectory(o.recursive ? uris[0]! : uris, o, signal);
}

async function getOne(uri: string, o: GetSwitches, signal: AbortSignal): Promise<void> {
  const { path: output, createDirs } = outputFor(keyPath(parseUri(uri)), o.output);
  if (output === '-') {
    if (o.direct) throw invalidArgument('--direct writes files: not with -o -');
    return toStdout(uri, o, signal);
  }
  if (o.clobber === false || o.skipUnchanged) {
    // Only these need to know the object before it is read: one stat.
    const meta = o.clobber === false && !o.dryRun ? { size: -1 } : await stat(uri, { storeOptions: storeOptions(o), signal });
    const reason = await keepReason(output, meta, o);
    if (reason || o.dryRun) return void process.stderr.write(`${o.dryRun && !reason ? '(dry run) would get' : 'skipped'} ${printable(redactUri(uri))} → ${printable(output)}${reason ? `: ${reason}` : ''}\n`);
  } else if (o.dryRun) {
    await stat(uri, { storeOptions: storeOptions(o), signal }); // a missing object is said so, as aws-cli --dryrun does
    return void process.stderr.write(`(dry run) would get ${printable(redactUri(uri))} → ${printable(output)}\n`);
  }
  const pool = poolFor(o);
  const bar = progressFor(o);
  const span = await spanOf(uri, o, signal);
  let r: DownloadFileResult;
  try {
    const digest = o.checksum ? { digest: o.checksum.algorithm, expectDigest: o.checksum.expected } : {};
    r = await download(uri, output, { ...span, pool, engine: engineFor(o), storeOptions: storeOptions(o), verify: o.verify ? 'require' : false, resume: o.resume !== false, direct: o.direct, createDirs, signal, ...digest, onProgress: (p) => bar.update(p.bytes, p.total) }).finally(() => bar.stop());
  } catch (e) {
    const note = keptNote(output);
    if (note && !o.quiet) process.stderr.write(`${note}\n`);
    throw e;
  }
  if (!span.offset && !span.length) stampTime(output, r.meta.lastModified);
  await new Promise((resolve) => setImmediate(resolve)); // the last block is back in the pool at the next turn: report that
  if (o.json) process.stdout.write(toJson({ uri: redactUri(uri), output, meta: r.meta, stats: r.stats, resumedBytes: r.resumedBytes, ...(r.directBytes !== undefined ? { directBytes: r.directBytes } : {}), ...digestField(r.digest, o), pool: { native: pool.native, ...pool.stats() } }) + '\n');
  else if (!o.quiet) process.stderr.write(summary(`${printable(redactUri(uri))} → ${printable(output)}`, r.stats, r.resumedBytes, r.meta, r.directBytes) + '\n');
  if (r.digest) digestSaid(r.digest, o.checksum!, output, o);
}

async function manyToDirectory(from: string | string[], o: GetSwitches, signal: AbortSignal): Promise<void> {
  const bar = progressFor(o);
  const sizes = new Map<string, number>();
  const received = new Map<string, number>();
  let bytes = 0;
  let started = 0;
  let finished = 0;
  let skipped = 0;
  const failures: ManyResult[] = [];
  const results: unknown[] = [];
  let worst: number = EXIT.ok;
  const t0 = performance.now();
  const pool = poolFor(o);
  let sized = 0; // the sum of `sizes`, kept as they change (summed on every event it cost O(objects²))
  const sizeOf = (uri: string, size: number) => {
    sized += size - (sizes.get(uri) ?? 0);
    sizes.set(uri, size);
  };
  const redraw = () => bar.update(bytes, sized, [finished, Math.max(started, finished)]);
  const onProgress = (p: { uri: string; bytes: number; total: number }) => {
    if (!sizes.has(p.uri)) started++;
    sizeOf(p.uri, p.total);
    bytes += p.bytes - (received.get(p.uri) ?? 0);
    received.set(p.uri, p.bytes);
    redraw();
  };
  const picked = filterKeys(o.include ?? o.exclude ?? []);
  const say = (line: string) => {
    if (!o.quiet || o.dryRun) bar.say(line);
  };
  const filter = async (e: { key: string; relative: string; size: number; lastModified?: Date | undefined; path?: string | undefined }) => {
    if (!picked(e.relative)) return false;
    const reason = e.path === undefined ? undefined : await keepReason(e.path, e, o);
    if (reason) {
      skipped++;
      say(`skipped ${printable(e.relative)}: ${reason}`);
      return false;
    }
    if (o.dryRun) say(`(dry run) would get ${printable(e.relative)} (${formatSize(e.size)}) → ${printable(e.path ?? '')}`);
    return !o.dryRun;
  };
  try {
    const opts = { to: o.output!, objects: o.objects, pool, engine: engineFor(o), storeOptions: storeOptions(o), verify: o.verify ? ('require' as const) : false, resume: o.resume !== false, direct: o.direct, digest: o.checksum?.algorithm, signal, onProgress, filter };
    for await (const r of getMany(from, opts)) {
      finished++;
      if (!sizes.has(r.uri)) started++; // one that never reported progress (0 bytes, or refused before a request)
      if (r.error) {
        failures.push(r);
        // What a failed object had received is not in any file: it does not count.
        bytes -= received.get(r.uri) ?? 0;
        worst = Math.max(worst, exitCodeFor(r.error));
        // With -q too: an object not written is always named.
        bar.say(o.json ? JSON.stringify({ error: { uri: redactUri(r.uri), code: r.error.code, message: printable(r.error.message) } }) : `rangepool: ${describe(r.error)}`);
      } else {
        if (r.path !== undefined) stampTime(r.path, r.meta.lastModified);
        const digest = digestField(r.digest, o);
        if (o.json) results.push({ uri: redactUri(r.uri), path: r.path, size: r.meta.size, ...digest, stats: r.stats });
        if (!o.quiet) bar.say(o.json ? JSON.stringify({ done: { uri: redactUri(r.uri), path: r.path, size: r.meta.size, ...digest } }) : `got ${printable(redactUri(r.uri))} → ${printable(r.path ?? '')} (${formatSize(r.meta.size)})${r.digest ? ` ${o.checksum!.algorithm} ${r.digest}` : ''}`);
      }
      sizeOf(r.uri, r.error ? 0 : r.meta.size);
      redraw();
    }
  } catch (e) {
    bar.stop();
    const note = signal.aborted && o.resume !== false ? keptUnder(o.output!) : undefined;
    if (note) process.stderr.write(`${note}\n`);
    throw e;
  } finally {
    bar.stop();
  }
  const elapsedMs = performance.now() - t0;
  await new Promise((resolve) => setImmediate(resolve)); // the last blocks are back in the pool at the next turn
  const written = finished - failures.length;
  const total = { objects: finished, written, failed: failures.length, skipped, bytes, elapsedMs, bytesPerSecond: elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0, pool: { native: pool.native, ...pool.stats() } };
  if (o.json) process.stdout.write(toJson({ objects: results, failures: failures.map((f) => ({ uri: redactUri(f.uri), code: f.error!.code, message: printable(f.error!.message) })), total }) + '\n');
  else if (!o.quiet && !o.dryRun) process.stderr.write(`${written} of ${finished} objects → ${printable(o.output!)}: ${formatSize(bytes)} in ${(elapsedMs / 1000).toFixed(2)} s (${formatSize(total.bytesPerSecond)}/s)${skipped ? `; ${skipped} skipped` : ''}\n`);
  if (failures.length > 0) {
    process.stderr.write(`rangepool: ${failures.length} of ${finished} objects failed\n`);
    const note = o.resume !== false ? keptUnder(o.output!) : undefined;
    if (note) process.stderr.write(`${note}\n`);
    process.exitCode = worst;
  }
}
