// The command-line clients users pick instead of `rangepool get` (curl, aria2c, rclone, aws-cli v2), how
// each is asked for one object into a file, and how a command is measured: GNU time for its wall time,
// CPU and peak RSS, /proc for the server's CPU and how busy the machine was over the same span. A peer
// that is not installed is skipped with the line that says how to install it.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { printable } from '../src/errors.js';
import { findProgram } from '../testing/programs.js';
import { root } from '../testing/spawn.js';
export { findProgram } from '../testing/programs.js';
import { machineBusy, machineSample, parseGnuTime, processCpu, TIME_FORMAT } from './proc.js';


/** What a command-line client needs to fetch one object into a file. */
export interface Fetch {
  /** The object as an http(s):// URL. */
  url: string;
  /** The same object as s3://bucket/key, and the endpoint that serves it. */
  s3: { uri: string; endpoint: string };
  /** PEM file of the certificate to trust, for https. */
  caFile?: string;
  /** The file to write (absent beforehand). */
  output: string;
}

export interface Peer {
  label: string;
  /** The executable, or undefined when absent. */
  program: () => string | undefined;
  install: string;
  /** argv after the program, and extra environment. */
  command: (f: Fetch) => { args: string[]; env?: Record<string, string> };
  /** Only over https (over plain HTTP it is another peer's twin). */
  tlsOnly?: boolean;
}

const awsV2 = (file: string) => {
  try {
    return /^aws-cli\/2\./.test(execFileSync(file, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch {
    return false;
  }
};

const nodeCli = join(root, 'dist', 'cli', 'main.js');

export const CLI_PEERS: Record<string, Peer> = {
  rangepool: {
    label: 'rangepool get (defaults)',
    program: () => process.execPath,
    install: 'npm run build',
    command: (f) => ({ args: [nodeCli, 'get', f.url, '-o', f.output, '-q'], env: f.caFile ? { NODE_EXTRA_CA_CERTS: f.caFile } : undefined }),
  },
  'rangepool-node-tls': {
    label: "rangepool get on Node's TLS (RANGEPOOL_NATIVE_TLS=0)",
    program: () => process.execPath,
    install: 'npm run build',
    tlsOnly: true,
    command: (f) => ({ args: [nodeCli, 'get', f.url, '-o', f.output, '-q'], env: { RANGEPOOL_NATIVE_TLS: '0', ...(f.caFile ? { NODE_EXTRA_CA_CERTS: f.caFile } : {}) } }),
  },
  curl: {
    label: 'curl (one stream)',
    program: () => findProgram('curl'),
    install: 'apt-get install curl',
    command: (f) => ({ args: ['-sS', '--fail', ...(f.caFile ? ['--cacert', f.caFile] : []), '-o', f.output, f.url] }),
  },
  aria2c: {
    label: 'aria2c -x16 -s16 -k16M',
    program: () => findProgram('aria2c'),
    install: 'apt-get install aria2',
    command: (f) => ({
      args: ['-x16', '-s16', '-k16M', '-q', '--allow-overwrite=false', ...(f.caFile ? [`--ca-certificate=${f.caFile}`] : []), `--dir=${join(f.output, '..')}`, `--out=${f.output.split('/').pop()}`, f.url],
    }),
  },
  rclone: {
    label: 'rclone copyto, 16 streams',
    program: () => findProgram('rclone'),
    install: 'apt-get install rclone',
    command: (f) => {
      const u = new URL(f.url);
      return {
        args: ['copyto', `:http:${u.pathname}`, f.output, '--http-url', u.origin, '--multi-thread-streams', '16', '--multi-thread-cutoff', '64M', ...(f.caFile ? ['--ca-cert', f.caFile] : [])],
        env: { RCLONE_CONFIG: '/dev/null' },
      };
    },
  },
  aws: {
    label: 'aws s3 cp (aws-cli v2)',
    program: () => findProgram('aws', ['/usr/bin', '/usr/local/bin'], awsV2),
    install: 'apt-get install awscli (aws-cli v2)',
    command: (f) => ({
      args: ['s3', 'cp', f.s3.uri, f.output, '--endpoint-url', f.s3.endpoint, '--no-progress', '--only-show-errors', ...(f.caFile ? ['--ca-bundle', f.caFile] : [])],
      env: { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    }),
  },
};

/** One measured command: the client's own figures (GNU time) and the server's and machine's over the same span. */
export interface CommandRun {
  bytes: number;
  wallMs: number;
  cpuMs: number;
  peakRss: number;
  serverCpuMs: number;
  /** Share of all cores busy (0–1), client, server and anything else. */
  busy?: number;
}

let gnuTimeFound: { path: string | undefined } | undefined;

/** GNU time (the `time` package), or undefined: the shell's builtin cannot report peak RSS. Looked for once. */
export function gnuTime(): string | undefined {
  gnuTimeFound ??= {
    path: findProgram('time', ['/usr/bin'], (file) => {
      try {
        return /GNU/.test(execFileSync(file, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
      } catch {
        return false;
      }
    }),
  };
  return gnuTimeFound.path;
}

/** A client that has not finished after this long has hung: the run fails rather than waits. */
export const COMMAND_TIMEOUT_MS = 10 * 60_000;

/** Runs `program args` under GNU time; the output file must then hold `bytes` bytes (and is removed). */
export async function measureCommand(program: string, args: string[], opts: { env?: Record<string, string>; output: string; bytes: number; serverPids?: () => number[] }): Promise<CommandRun> {
  const timeFile = `${opts.output}.time`;
  const pids = opts.serverPids?.() ?? [];
  const server0 = processCpu(pids);
  const machine0 = machineSample();
  const time = gnuTime();
  if (!time) throw new Error('GNU time is not installed (apt-get install time)');
  await new Promise<void>((resolve, reject) => {
    execFile(time, ['-f', TIME_FORMAT, '-o', timeFile, program, ...args], { env: { ...process.env, ...opts.env }, maxBuffer: 16 << 20, timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${program.split('/').pop()} failed: ${printable((stderr || err.message).trim().slice(0, 2000))}`));
      else resolve();
    });
  });
  const busy = machineBusy(machine0, machineSample());
  const serverCpuMs = (processCpu(pids) - server0) * 1000;
  const t = parseGnuTime(readFileSync(timeFile, 'utf8'));
  rmSync(timeFile, { force: true });
  const got = statSync(opts.output).size;
  rmSync(opts.output, { force: true });
  if (got !== opts.bytes) throw new Error(`${program.split('/').pop()} wrote ${got} bytes, expected ${opts.bytes}`);
  return { bytes: got, wallMs: t.wallS * 1000, cpuMs: t.cpuS * 1000, peakRss: t.peakRssBytes, serverCpuMs, busy };
}
