// nginx from the system's package, as an independent server for the benchmark and the tests: its own prefix and config,
// a fresh ECDSA P-256 certificate (TLS 1.3 only), the objects served from a directory the caller fills
// (path-style /bucket/key, so s3:// presigned GETs and HEADs work: nginx ignores the query string), one
// listener for HTTP and one for HTTPS on 127.0.0.1. Nothing here is nginx's default site or system config.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { printable } from '../src/errors.js';
import { freePort, waitForPort } from './emulators/free-port.js';
import { findProgram } from './programs.js';

const run = promisify(execFile);

export interface NginxConfig {
  /** nginx's prefix: pid file, error log, temp paths. */
  prefix: string;
  /** The directory served (world-readable: workers started by root run as nobody). */
  root: string;
  httpPort: number;
  httpsPort: number;
  cert: string;
  key: string;
  workers: number;
}

/** The whole nginx.conf for the benchmark: foreground, no access log, keep-alive for as long as a run lasts. */
export function nginxConfig(c: NginxConfig): string {
  return `# made by bench/nginx.ts for one benchmark run
daemon off;
worker_processes ${c.workers};
pid ${join(c.prefix, 'nginx.pid')};
error_log ${join(c.prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${join(c.prefix, 'tmp', 'body')};
  proxy_temp_path ${join(c.prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(c.prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(c.prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(c.prefix, 'tmp', 'scgi')};
  server {
    listen 127.0.0.1:${c.httpPort};
    listen 127.0.0.1:${c.httpsPort} ssl;
    ssl_certificate ${c.cert};
    ssl_certificate_key ${c.key};
    ssl_protocols TLSv1.3;
    root ${c.root};
    location / { }
  }
}
`;
}

/** A self-signed ECDSA P-256 certificate for 127.0.0.1, made with the openssl command. */
export async function makeCertificate(dir: string, openssl: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  return { cert, key };
}

export interface Nginx {
  http: string;
  https: string;
  /** The certificate, PEM, to trust. */
  ca: string;
  caFile: string;
  version: string;
  /** The worker processes (whose CPU is the server's CPU). */
  workerPids(): number[];
  stop(): Promise<void>;
}

/** Why nginx cannot run here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  if (!findProgram('nginx', ['/usr/sbin'])) return 'nginx is not installed (apt-get install nginx)';
  if (!findProgram('openssl')) return 'openssl is not installed (apt-get install openssl)';
  return undefined;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without /proc/PID/task/TID/children: scan for the parent pid.
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => {
        try {
          const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        } catch {
          return false;
        }
      });
  }
}

/** Starts nginx over `root` (made world-readable) with its own prefix under `prefix`. */
export async function startNginx(opts: { root: string; prefix: string; workers?: number }): Promise<Nginx> {
  const missing = nginxMissing();
  if (missing) throw new Error(missing);
  const nginx = findProgram('nginx', ['/usr/sbin'])!;
  const workers = opts.workers ?? 1;
  for (const d of ['tmp', join('tmp', 'body'), join('tmp', 'proxy'), join('tmp', 'fastcgi'), join('tmp', 'uwsgi'), join('tmp', 'scgi')]) mkdirSync(join(opts.prefix, d), { recursive: true });
  chmodSync(opts.root, 0o755);
  const { cert, key } = await makeCertificate(opts.prefix, findProgram('openssl')!);
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const conf = join(opts.prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ prefix: opts.prefix, root: opts.root, httpPort, httpsPort, cert, key, workers }));
  const { stderr: versionLine } = await run(nginx, ['-v']);
  const child: ChildProcess = spawn(nginx, ['-p', opts.prefix, '-c', conf, '-e', join(opts.prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => stderr + (existsSync(join(opts.prefix, 'error.log')) ? readFileSync(join(opts.prefix, 'error.log'), 'utf8') : '');
  try {
    await Promise.race([Promise.all([waitForPort(httpPort, 10_000), waitForPort(httpsPort, 10_000)]), exited.then(() => Promise.reject(new Error('nginx exited')))]);
    // Workers come up after the listeners; the server's CPU is theirs.
    for (let i = 0; i < 100 && childrenOf(child.pid!).length < workers; i++) await new Promise((r) => setTimeout(r, 20));
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${printable(log().slice(-4000))}`);
  }
  return {
    http: `http://127.0.0.1:${httpPort}`,
    https: `https://127.0.0.1:${httpsPort}`,
    ca: readFileSync(cert, 'utf8'),
    caFile: cert,
    version: versionLine.trim().replace(/^nginx version: /, ''),
    workerPids: () => childrenOf(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT'); // graceful: workers finish, then the master exits
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
