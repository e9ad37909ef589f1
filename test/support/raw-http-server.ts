// A TCP server that answers each HTTP request with whatever bytes a test scripts, for the cases no
// well-behaved server produces: split or oversized heads, lying lengths, endless bodies, closes at the
// worst moment. Optionally over TLS, with a certificate made at test time.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Which request this is on its connection (0 for the first). */
  onConnection: number;
  /** Which connection (0 for the first the server accepted). */
  connection: number;
}

/** Writes a response (or misbehaves) on the socket. */
export type Responder = (req: RawRequest, socket: Socket) => void;

export async function startRawServer(tls?: { key: string; cert: string }) {
  let respond: Responder = (_req, s) => s.end('HTTP/1.1 500 Unscripted\r\ncontent-length: 0\r\n\r\n');
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const bytesWritten = new Map<number, number>();
  const closed = new Set<number>();
  const onSocket = (socket: Socket) => {
    const connection = connections++;
    let onConnection = 0;
    let pending = '';
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      closed.add(connection);
      bytesWritten.set(connection, socket.bytesWritten);
    });
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const [line, ...rest] = pending.slice(0, end).split('\r\n');
        pending = pending.slice(end + 4);
        const [method = '', path = ''] = line!.split(' ');
        const headers = Object.fromEntries(rest.map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]));
        const req = { method, path, headers, onConnection: onConnection++, connection };
        requests.push(req);
        respond(req, socket);
      }
    });
  };
  const server: Server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, onSocket) : createNetServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    /** Bytes written on connection number n, once it has closed. */
    bytesWritten: (n: number) => bytesWritten.get(n),
    /** Whether the server has seen connection number n close. */
    closed: (n: number) => closed.has(n),
    script(next: Responder) {
      respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A well-formed 206 for bytes [start, end] of data, with optional header overrides (undefined drops one). */
export function partial(data: Buffer, range: string | undefined, headers: Record<string, string | number | undefined> = {}): Buffer {
  const m = /bytes=(\d+)-(\d+)/.exec(range ?? '');
  const start = m ? Number(m[1]) : 0;
  const end = m ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
  const body = data.subarray(start, end + 1);
  const all: Record<string, string | number | undefined> = {
    'content-length': body.length,
    'content-range': `bytes ${start}-${end}/${data.length}`,
    etag: '"v1"',
    ...headers,
  };
  const head = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\n${head}\r\n`, 'latin1'), body]);
}
