// Files campaign: seeded rounds of `rangepool get` (the real CLI, whole processes) and download() into
// directories, over key sets made to collide (duplicates, names of temporary files, prefixes without a
// slash, case variants, long and odd names, f and f/g), with runs interrupted at random points (SIGINT,
// SIGKILL, abort), leftovers tampered with (cut, extended, state edited, emptied or removed, symlinks
// planted) and two writers at once. After each round it checks what a user relies on:
// - every file under its final name holds exactly the bytes of the object its name says;
// - every object that is not written makes the exit non-zero and is named on stderr;
// - nothing outside the target changed;
// - no temporary file is left once a run has completed.
// Usage: node --import tsx testing/files-campaign.ts [--rounds N] [--seed N]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, lstatSync, openSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RangeEngine, download } from '../src/index.js';
import { printable } from '../src/errors.js';
import { startObjectServer } from './object-server/index.js';
import { prng } from './prng.js';

const KiB = 1024;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;

type Server = Awaited<ReturnType<typeof startObjectServer>>;

/** One round's outcome: what failed its checks (empty when it passed), and what it did. */
export interface RoundReport {
  round: number;
  what: string;
  problems: string[];
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 12);

/** Every non-directory entry under `root`, relative, with what it is. */
function tree(root: string): Map<string, { link: boolean; bytes?: Buffer }> {
  const out = new Map<string, { link: boolean; bytes?: Buffer }>();
  if (!existsSync(root)) return out;
  for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join((d as unknown as { parentPath?: string; path: string }).parentPath ?? (d as unknown as { path: string }).path, d.name);
    if (d.isDirectory()) continue;
    const rel = path.slice(root.length + 1);
    out.set(rel, d.isSymbolicLink() ? { link: true } : { link: false, bytes: readFileSync(path) });
  }
  return out;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, stopAfterMs?: number, signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = stopAfterMs !== undefined ? setTimeout(() => child.kill(signal ?? 'SIGKILL'), stopAfterMs) : undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      clearTimeout(guard);
      resolve({ code, stderr });
    });
  });
}

/** Names that collide in every way the file path has to get right. */
function keySet(rand: () => number, prefix: string): string[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const base = pick(['model.bin', 'x', 'data.parquet', 'w-00001.safetensors', 'a b', 'ünï.bin']);
  const keys = new Set<string>([`${prefix}/${base}`]);
  const add = (k: string) => keys.add(`${prefix}/${k}`);
  const kinds = [
    () => add(`.${base}.rangepool-tmp`), // the temporary name of another key
    () => add(`.${base}.rangepool-tmp.state`),
    () => add(`sub/${base}`),
    () => add(`sub/.${base}.rangepool-tmp`),
    () => add(base.toUpperCase()), // a case variant
    () => add(`${base}/inner`), // f and f/g
    () => add(`sub/${'l'.repeat(200 + Math.floor(rand() * 60))}`), // long: 200-259 bytes
    () => add(pick(['-dash', 'q?v=2', 'h#x', 'pct%41', 'line\nfeed', 'tab\tx', 'dot.', '..dots'])),
    () => keys.add(`${prefix}x/${base}`), // a sibling the prefix without a slash must not take
    () => keys.add(`${prefix}${base}`),
    () => add('dir/'), // a folder marker (sized below)
    () => add(`deep/${base}`),
  ];
  const n = 3 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) pick(kinds)();
  return [...keys];
}

/** What the rules say of a key listed under the folder `folder`: its path below it, or undefined when it has none. */
function expectedPath(folder: string, key: string): string | undefined {
  if (!key.startsWith(folder)) return undefined;
  const rest = key.slice(folder.length);
  const segments = rest.split('/');
  if (rest === '' || rest.endsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..' || Buffer.byteLength(s) > 255)) return undefined;
  if (/\.rangepool-tmp(\.state(\.tmp)?|\.new)?$/.test(segments[segments.length - 1]!)) return undefined;
  return rest;
}

let directTaken: boolean | undefined;
/** Whether the temporary folder's file system takes O_DIRECT (asked once). */
function takesDirect(): boolean {
  if (directTaken === undefined && constants.O_DIRECT === undefined) directTaken = false;
  if (directTaken === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'rangepool-direct-probe-'));
    try {
      closeSync(openSync(join(dir, 'probe'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600));
      directTaken = true;
    } catch {
      directTaken = false;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return directTaken;
}

export async function runRound(server: Server, round: number, seed: number): Promise<RoundReport> {
  const rand = prng(seed * 1000 + round);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const bucket = `c${round}`;
  const prefix = `p${round}`;
  const keys = keySet(rand, prefix);
  const objects = new Map<string, Buffer>();
  for (const key of keys) {
    const size = key.endsWith('/') ? pick([0, 7]) : rand() < 0.35 ? 600 * KiB + Math.floor(rand() * 900 * KiB) : Math.floor(rand() * 40 * KiB);
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (rand() * 256) | 0;
    objects.set(key, data);
    server.put(bucket, key, data);
  }
  const root = mkdtempSync(join(tmpdir(), 'rangepool-files-campaign-'));
  const out = join(root, 'out');
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'outside: never written');
  const before = tree(outside);
  const env = { ...process.env, AWS_ENDPOINT_URL: server.url, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
  const problems: string[] = [];
  const steps: string[] = [];
  const slash = rand() < 0.5;
  const uri = `s3://${bucket}/${prefix}${slash ? '/' : ''}`;
  const folder = `${prefix}/`;
  // Half the rounds write with O_DIRECT where the temporary folder's file system takes it (its own draw, so
  // a seed's other choices stay what they were).
  const direct = takesDirect() && prng(seed * 1000 + round + 0x5eed)() < 0.5;
  const args = ['get', '-r', uri, '-o', out, '--part-size', '256KiB', ...(direct ? ['--direct'] : [])];
  if (direct) steps.push('--direct');

  try {
    // 1. Interrupted runs (sometimes two at once), leaving what they leave: slow enough to be stopped mid-way.
    server.setShape({ connectionRate: 128 * KiB });
    const interrupts = Math.floor(rand() * 3);
    for (let i = 0; i < interrupts; i++) {
      const sig = pick(['SIGKILL', 'SIGINT', 'SIGTERM'] as const);
      const ms = 300 + Math.floor(rand() * 2200);
      if (rand() < 0.3) {
        steps.push(`two writers, one ${sig} after ${ms} ms`);
        await Promise.all([runCli(args, env, ms, sig), runCli([...args, '-q'], env)]);
      } else {
        steps.push(`${sig} after ${ms} ms`);
        await runCli(args, env, ms, sig);
      }
    }
    // An aborted download() of one object into the same tree: one that the CLI writes too (not one of an f
    // and f/g pair, which the CLI decides in listing order).
    const rels = keys.map((k) => expectedPath(folder, k)).filter((r) => r !== undefined);
    const clean = keys.filter((k) => {
      const rel = expectedPath(folder, k);
      return rel !== undefined && !rels.some((r) => r.startsWith(`${rel}/`) || rel.startsWith(`${r}/`));
    });
    if (rand() < 0.3 && clean.length > 0) {
      const key = pick(clean);
      const path = join(out, expectedPath(folder, key)!);
      const ac = new AbortController();
      const engine = new RangeEngine({ partSize: 256 * KiB, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
      setTimeout(() => ac.abort(), Math.floor(rand() * 300));
      await download(`s3://${bucket}/${key}`, path, { storeOptions: { endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }, engine, resume: true, createDirs: true, signal: ac.signal }).catch(() => {});
      steps.push('download() aborted');
    }
    server.setShape({});
    // 2. Tampering with what they left.
    for (const [rel] of tree(out)) {
      if (!rel.includes('.rangepool-tmp') || rand() < 0.4) continue;
      const path = join(out, rel);
      // A state is edited; a temporary's bytes are not: bytes changed inside the runs a state names (bit
      // rot, another program writing there) are not detected on resume, only by --verify (README, guarantee 11).
      const what = pick(rel.endsWith('.state') ? (['cut', 'extend', 'edit', 'empty', 'remove', 'link'] as const) : (['cut', 'extend', 'empty', 'remove', 'link'] as const));
      steps.push(`${what} ${printable(rel)}`);
      try {
        if (what === 'cut') truncateSync(path, Math.floor(rand() * lstatSync(path).size));
        else if (what === 'extend') appendFileSync(path, Buffer.alloc(1 + Math.floor(rand() * 5000), 7));
        else if (what === 'edit') {
          const b = readFileSync(path);
          const at = Math.floor(rand() * b.length);
          if (b.length > 0) b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
          writeFileSync(path, b);
        } else if (what === 'empty') writeFileSync(path, '');
        else if (what === 'remove') rmSync(path);
        else {
          rmSync(path);
          symlinkSync(join(outside, 'victim'), path);
        }
      } catch {
        /* gone meanwhile */
      }
    }
    // 3. The run that must complete, sometimes with a second writer at once.
    const second = rand() < 0.25;
    steps.push(second ? 'final run with a second writer' : 'final run');
    const [final, other] = await Promise.all([runCli(args, env), second ? runCli(args, env) : Promise.resolve(undefined)]);

    // The checks.
    const got = tree(out);
    const firstFor = new Map<string, string>();
    for (const key of [...keys].sort()) {
      const rel = expectedPath(folder, key);
      if (rel !== undefined && !firstFor.has(rel)) firstFor.set(rel, key);
    }
    for (const [rel, entry] of got) {
      if (rel.includes('.rangepool-tmp')) {
        problems.push(`a temporary file is left after a completed run: ${printable(rel)}`);
        continue;
      }
      if (entry.link) {
        problems.push(`a symlink under the target: ${printable(rel)}`);
        continue;
      }
      const owner = firstFor.get(rel);
      if (owner === undefined) problems.push(`${printable(rel)} is no object's path`);
      else if (!entry.bytes!.equals(objects.get(owner)!)) problems.push(`${printable(rel)} holds ${sha(entry.bytes!)}, not the bytes of ${printable(owner)} (${sha(objects.get(owner)!)})`);
    }
    for (const key of keys) {
      const rel = expectedPath(folder, key);
      const written = rel !== undefined && firstFor.get(rel) === key && got.get(rel)?.bytes?.equals(objects.get(key)!);
      const marker = key.endsWith('/') && objects.get(key)!.length === 0;
      if (!key.startsWith(folder) || written || marker) continue;
      if (final.code === 0) problems.push(`exit 0, but ${printable(key)} was not written`);
      if (!final.stderr.includes(printable(`s3://${bucket}/${key}`))) problems.push(`${printable(key)} was not written and not named on stderr`);
    }
    for (const r of [final, other]) {
      if (r && r.code !== 0 && ![...keys].some((k) => k.startsWith(folder) && r.stderr.includes(printable(`s3://${bucket}/${k}`)))) problems.push(`exit ${r.code} naming no object: ${printable(r.stderr.slice(0, 300))}`);
    }
    const after = tree(outside);
    if (after.size !== before.size || [...before].some(([k, v]) => !after.get(k)?.bytes?.equals(v.bytes!))) problems.push('something outside the target changed');
  } finally {
    if (process.env.RANGEPOOL_CAMPAIGN_KEEP === '1') steps.push(`kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
  return { round, what: `${uri}: ${keys.length} keys; ${steps.join('; ')}`, problems };
}

/** Runs `rounds` rounds against one object server. */
export async function runFilesCampaign({ rounds = 10, seed = 1, onRound }: { rounds?: number; seed?: number; onRound?: (r: RoundReport) => void } = {}): Promise<RoundReport[]> {
  const server = await startObjectServer({ seed });
  try {
    const reports: RoundReport[] = [];
    for (let round = 0; round < rounds; round++) {
      const report = await runRound(server, round, seed);
      reports.push(report);
      onRound?.(report);
    }
    return reports;
  } finally {
    await server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, seed: { type: 'string' } } });
  const seed = Number(values.seed ?? Date.now() % 1e6);
  console.log(`files campaign, seed ${seed}`);
  const reports = await runFilesCampaign({
    rounds: Number(values.rounds ?? 100),
    seed,
    onRound: (r) => console.log(`${r.problems.length ? 'FAIL' : 'ok  '} round ${r.round}: ${r.what}${r.problems.map((p) => `\n      ${p}`).join('')}`),
  });
  const failed = reports.filter((r) => r.problems.length > 0).length;
  console.log(`${reports.length - failed} passed, ${failed} failed (seed ${seed})`);
  process.exit(failed ? 1 : 0);
}
