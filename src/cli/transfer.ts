// `rangepool get` (one object to a file or stdout; several, or a whole prefix with --recursive, to a
// directory) and `rangepool cat`. Every object is streamed through pooled chunks, so memory stays at
// the read-ahead window whatever the sizes.
import { download } from '../download-to-file.js';
import { invalidArgument, printable } from '../errors.js';
import { getMany, type ManyResult } from '../get-many.js';
import { stat } from '../api.js';
import { stream } from '../stream.js';
import type { DownloadStats } from '../engine/types.js';
import { redactUri } from '../redact.js';
import { parseUri } from '../uri.js';
import { EXIT, describe, exitCodeFor } from './exit-codes.js';
import { engineFor, poolFor, storeOptions, toJson, type Common } from './options.js';
import { defaultOutputName } from './output.js';
import { progressBar } from './progress.js';
import { formatSize } from './sizes.js';

export interface GetSwitches extends Common {
  output?: string;
  recursive?: boolean;
  objects?: number;
}

function summary(what: string, stats: DownloadStats): string {
  const network = [
    `${stats.connections} at once`,
    stats.firstByteMs > 0 ? `first byte ${stats.firstByteMs} ms` : '',
    stats.stragglers > 0 ? `${stats.stragglers} stragglers re-asked` : '',
    stats.throttled > 0 ? `${stats.throttled} throttled` : '',
  ].filter(Boolean);
  return `${what}: ${formatSize(stats.bytes)} in ${(stats.elapsedMs / 1000).toFixed(2)} s (${formatSize(stats.bytesPerSecond)}/s, ${stats.ranges} ranges, ${network.join(', ')}, ${stats.retries} retries${stats.verified ? `, ${stats.verified} verified` : ''})`;
}

/** --range as offset and length (the last N bytes need the size: one stat). */
async function spanOf(uri: string, o: Common, signal: AbortSignal): Promise<{ offset?: number; length?: number }> {
  const r = o.range;
  if (!r) return {};
  if ('start' in r) return { offset: r.start, ...(r.end !== undefined ? { length: r.end - r.start + 1 } : {}) };
  const { size } = await stat(uri, { storeOptions: storeOptions(o), signal });
  return { offset: Math.max(0, size - r.last), length: Math.min(size, r.last) };
}

/** Writes the object to stdout chunk by chunk; each chunk goes back to the pool once its write is done. */
async function toStdout(uri: string, o: Common, signal: AbortSignal): Promise<void> {
  const bar = progressBar(!o.quiet && !o.json);
  const started = performance.now();
  const span = await spanOf(uri, o, signal);
  const s = stream(uri, { ...span, pool: poolFor(o), engine: engineFor(o), storeOptions: storeOptions(o), verify: o.verify ? 'require' : false, signal, onProgress: (p) => bar.update(p.bytes, p.total) });
  let bytes = 0;
  try {
    for await (const chunk of s) {
      await new Promise<void>((resolve, reject) => process.stdout.write(chunk, (e) => (e ? reject(e) : resolve())));
      bytes += chunk.length;
    }
  } finally {
    bar.stop();
  }
  if (!o.quiet && !o.json) process.stderr.write(`${redactUri(uri)} → stdout: ${formatSize(bytes)} in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
  else if (o.json) process.stderr.write(toJson({ uri: redactUri(uri), output: '-', meta: s.meta, bytes }) + '\n');
}

export async function catCommand(uri: string, o: Common, signal: AbortSignal): Promise<void> {
  await toStdout(uri, { ...o, quiet: true, json: false }, signal);
}

export async function getCommand(uris: string[], o: GetSwitches, signal: AbortSignal): Promise<void> {
  const many = o.recursive || uris.length > 1;
  if (!many) {
    const uri = uris[0]!;
    const output = o.output ?? defaultOutputName(parseUri(uri).key);
    if (output === '-') return toStdout(uri, o, signal);
    const pool = poolFor(o);
    const bar = progressBar(!o.quiet && !o.json);
    const span = await spanOf(uri, o, signal);
    const r = await download(uri, output, { ...span, pool, engine: engineFor(o), storeOptions: storeOptions(o), verify: o.verify ? 'require' : false, signal, onProgress: (p) => bar.update(p.bytes, p.total) }).finally(() => bar.stop());
    await new Promise((resolve) => setImmediate(resolve)); // the last block is back in the pool at the next turn: report that
    if (o.json) process.stdout.write(toJson({ uri: redactUri(uri), output, meta: r.meta, stats: r.stats, pool: { native: pool.native, ...pool.stats() } }) + '\n');
    else if (!o.quiet) process.stderr.write(summary(`${redactUri(uri)} → ${output}`, r.stats) + '\n');
    return;
  }
  if (o.range) throw invalidArgument('--range reads a part of one object, not of several');
  if (!o.output || o.output === '-') throw invalidArgument('several objects (or --recursive) need -o DIR/, a directory to write them under');
  if (o.recursive && uris.length > 1) throw invalidArgument('--recursive takes one prefix URI');
  if (!o.recursive && uris.some((u) => u.endsWith('/'))) throw invalidArgument('a prefix URI needs --recursive');
  await manyToDirectory(o.recursive ? uris[0]! : uris, o, signal);
}

async function manyToDirectory(from: string | string[], o: GetSwitches, signal: AbortSignal): Promise<void> {
  const bar = progressBar(!o.quiet && !o.json);
  const sizes = new Map<string, number>();
  const received = new Map<string, number>();
  let bytes = 0;
  let started = 0;
  let finished = 0;
  const failures: ManyResult[] = [];
  const results: unknown[] = [];
  let worst: number = EXIT.ok;
  const t0 = performance.now();
  const pool = poolFor(o);
  const redraw = () => bar.update(bytes, [...sizes.values()].reduce((a, b) => a + b, 0), `${finished}/${started}`);
  const onProgress = (p: { uri: string; bytes: number; total: number }) => {
    if (!sizes.has(p.uri)) started++;
    sizes.set(p.uri, p.total);
    bytes += p.bytes - (received.get(p.uri) ?? 0);
    received.set(p.uri, p.bytes);
    redraw();
  };
  try {
    for await (const r of getMany(from, { to: o.output!, objects: o.objects, pool, engine: engineFor(o), storeOptions: storeOptions(o), verify: o.verify ? 'require' : false, signal, onProgress })) {
      finished++;
      if (r.error) {
        failures.push(r);
        worst = Math.max(worst, exitCodeFor(r.error));
        bar.stop();
        process.stderr.write(`rangepool: ${describe(r.error)}\n`);
      } else if (o.json) results.push({ uri: redactUri(r.uri), path: r.path, size: r.meta.size, stats: r.stats });
      redraw();
    }
  } finally {
    bar.stop();
  }
  const elapsedMs = performance.now() - t0;
  await new Promise((resolve) => setImmediate(resolve)); // the last blocks are back in the pool at the next turn
  const total = { objects: finished, failed: failures.length, bytes, elapsedMs, bytesPerSecond: elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0, pool: { native: pool.native, ...pool.stats() } };
  if (o.json) process.stdout.write(toJson({ objects: results, failures: failures.map((f) => ({ uri: redactUri(f.uri), code: f.error!.code, message: printable(f.error!.message) })), total }) + '\n');
  else if (!o.quiet) process.stderr.write(`${finished - failures.length} of ${finished} objects → ${o.output}: ${formatSize(bytes)} in ${(elapsedMs / 1000).toFixed(2)} s (${formatSize(total.bytesPerSecond)}/s)\n`);
  if (failures.length > 0) {
    process.stderr.write(`rangepool: ${failures.length} of ${finished} objects failed\n`);
    process.exitCode = worst;
  }
}
