// Runs the loopback object server in its own process (so a benchmark can measure the client's CPU
// apart from the server's). Prints {"url","port","pid"} as one JSON line once listening. Objects are
// loaded with S3 PUTs, faults set with POST /_control/faults. Ends on SIGTERM, SIGINT or stdin closing.
import { startObjectServer } from './object-server.js';

const portArg = process.argv.indexOf('--port');
const server = await startObjectServer({ port: portArg > 0 ? Number(process.argv[portArg + 1]) : 0 });
console.log(JSON.stringify({ url: server.url, port: server.port, pid: process.pid }));

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.once('end', stop);
process.stdin.resume();
