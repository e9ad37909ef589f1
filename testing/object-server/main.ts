// Runs the loopback object server in its own process (so a benchmark can measure the client's CPU
// apart from the server's). Prints {"url","port","pid"} (and "ca" with --tls) as one JSON line once
// listening. Objects are loaded with S3 PUTs (`curl -T file URL/bucket/key`), faults set with POST
// /_control/faults. Ends on SIGTERM or SIGINT, and with --with-parent when its stdin closes (so a parent
// that spawned it with a pipe takes it along when it dies; started from a shell in the background, where
// stdin is /dev/null, it keeps running). --tls serves HTTPS with a self-signed certificate made at start.
// Run it with `node --import tsx testing/object-server/main.ts` (see testing/spawn.ts).
import { generate } from 'selfsigned';
import { startObjectServer } from './index.js';

const portArg = process.argv.indexOf('--port');
let tls: { key: string; cert: string } | undefined;
if (process.argv.includes('--tls')) {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  tls = { key: pems.private, cert: pems.cert };
}
const server = await startObjectServer({ port: portArg > 0 ? Number(process.argv[portArg + 1]) : 0, tls });
console.log(JSON.stringify({ url: server.url, port: server.port, pid: process.pid, ca: tls?.cert }));

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
if (process.argv.includes('--with-parent')) {
  process.stdin.once('end', stop);
  process.stdin.resume();
}
