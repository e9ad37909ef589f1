// A TCP proxy in front of a TLS 1.3 server that can rewrite what the server sends, record by record: it
// learns the server's application traffic keys from the server's own 'keylog' event (matched to the
// connection by the ClientHello's random), opens each record the server sends after its handshake, hands
// it to an editor, and seals what the editor returns with its own sequence numbers. So a test can split,
// pad, insert (late NewSessionTickets, empty records, KeyUpdate, alerts, unknown types) or corrupt records
// the client's native reader must take, and cut the byte stream into any TCP pieces. Handshake records
// pass untouched.
import { createCipheriv, type CipherGCM } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { nonceFor, openRecord, serverSecret, SUITES, trafficKeys, type TrafficKeys } from '../../src/http/tls13.js';

/**
 * A record to send: sealed from content and type (with `pad` zero bytes; `flip`: then one bit of its
 * ciphertext or tag at that index after the header is flipped), or `raw` bytes as they are.
 */
export type OutRecord = { type: number; content: Buffer; pad?: number; flip?: number } | { raw: Buffer };

/** Decides what goes out for one opened record (`seq`: its number from the server, from 0). */
export type Editor = (record: { seq: number; type: number; content: Buffer }) => OutRecord[];

/** How many bytes the next TCP write carries, given how many are waiting. */
export type Segmenter = (waiting: number) => number;

export interface ProxyOptions {
  editor?: Editor;
  segmenter?: Segmenter;
  /** Ends the client side after this many bytes after the handshake (a record cut short). */
  cutAfter?: number;
}

export function seal(keys: TrafficKeys, seq: number, type: number, content: Buffer, pad = 0): Buffer {
  const inner = Buffer.concat([content, Buffer.from([type]), Buffer.alloc(pad)]);
  const header = Buffer.from([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
  const nonce = nonceFor(keys, seq);
  const cipher = createCipheriv(keys.suite.cipher as 'aes-128-gcm', keys.key, nonce, { authTagLength: 16 }) as CipherGCM;
  cipher.setAAD(header, { plaintextLength: inner.length });
  return Buffer.concat([header, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
}

/**
 * Starts a proxy to `target`; `watch(server)` must be called on the TLS server so keys can be learned.
 * `set(opts)` changes the rewriting for connections made from then on.
 */
export async function startRecordProxy(target: { port: number }) {
  const secrets = new Map<string, TrafficKeys>();
  let opts: ProxyOptions = {};
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const my = opts;
    const upstream = connect({ host: '127.0.0.1', port: target.port });
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let random: string | undefined;
    let fromClient = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      if (random === undefined) {
        fromClient = Buffer.concat([fromClient, d]);
        if (fromClient.length >= 43) random = fromClient.subarray(11, 43).toString('hex');
      }
      upstream.write(d);
    });
    let input = Buffer.alloc(0);
    let seqIn = 0;
    let seqOut = 0;
    let opened = false;
    let afterHandshake = 0;
    const out: Buffer[] = [];
    let flushing = false;
    const flush = () => {
      if (flushing) return;
      flushing = true;
      const step = () => {
        const waiting = out.reduce((n, b) => n + b.length, 0);
        if (waiting === 0 || client.destroyed) return void (flushing = false);
        const all = Buffer.concat(out.splice(0));
        const n = Math.max(1, Math.min(all.length, my.segmenter ? my.segmenter(waiting) : all.length));
        const piece = all.subarray(0, n);
        if (n < all.length) out.push(all.subarray(n));
        if (my.cutAfter !== undefined && opened) {
          const left = my.cutAfter - afterHandshake;
          if (left <= piece.length) {
            client.end(piece.subarray(0, Math.max(0, left)));
            upstream.destroy();
            return;
          }
        }
        if (opened) afterHandshake += piece.length;
        client.write(piece);
        setImmediate(step);
      };
      step();
    };
    upstream.on('data', (d: Buffer) => {
      input = Buffer.concat([input, d]);
      while (input.length >= 5 && input.length >= 5 + input.readUInt16BE(3)) {
        const record = input.subarray(0, 5 + input.readUInt16BE(3));
        input = input.subarray(record.length);
        const keys = random === undefined ? undefined : secrets.get(random);
        const inner = record[0] === 23 && keys ? openRecord(keys, seqIn, record) : undefined;
        if (!inner) {
          if (opened) return void client.destroy(); // (a test that sees this fails on its reads)
          out.push(record); // a handshake record
          continue;
        }
        opened = true;
        const edited: OutRecord[] = my.editor ? my.editor({ seq: seqIn, type: inner.type, content: inner.content }) : [inner];
        seqIn++;
        for (const r of edited) {
          if ('raw' in r) {
            out.push(r.raw);
            continue;
          }
          const sealed = seal(keys!, seqOut++, r.type, r.content, r.pad ?? 0);
          if (r.flip !== undefined) sealed[5 + (r.flip % (sealed.length - 5))]! ^= 0x10;
          out.push(sealed);
        }
      }
      flush();
    });
    upstream.on('end', () => {
      const end = () => (flushing ? setTimeout(end, 1) : client.end());
      end();
    });
    const close = () => (client.destroy(), upstream.destroy());
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', () => sockets.delete(upstream));
    client.on('close', () => sockets.delete(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    /** Learns the keys of every connection `tlsServer` accepts (its 'keylog' event). */
    watch(tlsServer: { on(event: 'keylog', fn: (line: Buffer, socket: TLSSocket) => void): unknown }) {
      tlsServer.on('keylog', (line, socket) => {
        const secret = serverSecret(line);
        const random = /^SERVER_TRAFFIC_SECRET_0 ([0-9a-f]+) /i.exec(line.toString('latin1'))?.[1]?.toLowerCase();
        const suite = SUITES[socket.getCipher().standardName];
        if (secret && random && suite) secrets.set(random, trafficKeys(suite, secret));
      });
    },
    set(next: ProxyOptions) {
      opts = next;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
