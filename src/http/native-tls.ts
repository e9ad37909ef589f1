// An HTTPS connection whose bodies are decrypted in native code: Node does the handshake (certificates, SNI,
// trust, ALPN all as for tls.connect) over a stream that sees every byte of ciphertext; at 'secureConnect'
// the raw socket stops being read by Node and the addon's I/O threads read and decrypt its records straight
// into the destination the reader names (native/tls_reader.h), reporting once per piece instead of once per
// 16 KiB record. Requests still go out through Node's TLS socket (its sending keys are its own).
//
// It is a drop-in for the socket connection.ts reads: the same `onread` contract (buffer() names where the
// next bytes land, callback() says they did, false pauses), the same events. Where the hand-over cannot be
// made (TLS 1.2, a suite the addon lacks, no fd), the connection goes on through Node's TLS socket, and the
// origin takes Node's own path from then on.
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { debuglog } from 'node:util';
import { binding } from '../native.js';
import { NativeReadSocket, NativeReads, socketFd } from './native-reads.js';
import type { OnRead, Origin, TlsPath } from './socket-contract.js';
import { HandoverError, replay, serverSecret, SUITES, trafficKeys } from './tls13.js';

export { tlsCounters } from './native-reads.js';

const debug = debuglog('rangepool');

/** Origins whose hand-over was refused once (TLS 1.2, another suite): they take Node's path from then on. */
const refusedOrigins = new Set<string>();

/**
 * Whether HTTPS connections to `origin` read through the addon: RANGEPOOL_NATIVE_TLS=0 turns it off, =1 on
 * (an error where the addon cannot); by default on where the addon can.
 */
export function nativeTlsFor(origin: Origin): boolean {
  const asked = process.env.RANGEPOOL_NATIVE_TLS;
  if (asked === '0') return false;
  const able = binding?.tlsAvailable === true && process.platform !== 'win32';
  if (asked === '1' && !able) throw new Error('RANGEPOOL_NATIVE_TLS=1, but TLS in native code is not available here');
  return able && !refusedOrigins.has(originKey(origin));
}

function originKey(o: Origin): string {
  return `${o.hostname}:${o.port}`;
}

const RAW_READ = 64 * 1024;

export class NativeTlsSocket extends NativeReadSocket {
  /** Which path this connection's bodies take (set at 'secureConnect'). */
  path: TlsPath | undefined;
  protected readonly raw: net.Socket;
  /** The stream Node's TLS runs over: what the raw socket read goes in, what TLS writes goes out. */
  private readonly wire: Duplex;
  private readonly tls: tls.TLSSocket;
  /** Ciphertext read before the hand-over (only the handshake's, and a partial record after it). */
  private received: Buffer[] | undefined = [];
  private secret: Buffer | undefined;
  /** Where the bodies land: the addon's reads, or on Node's path its decrypted chunks copied. */
  protected readonly reads: NativeReads;

  constructor(
    private readonly origin: Origin,
    tlsOptions: tls.ConnectionOptions,
    onread: OnRead,
  ) {
    super();
    this.reads = new NativeReads(onread, {
      end: () => {
        this.emit('end');
        this.destroy();
      },
      fail: (e) => this.destroy(typeof e === 'string' ? Object.assign(new Error(e), { code: 'ERR_RANGEPOOL_TLS' }) : e),
    });
    const rawBuf = Buffer.allocUnsafe(RAW_READ);
    // The TCP options tls.connect would pass on (lookup, family, localAddress, ...) go to the raw socket.
    const { socket: _socket, ...tcp } = tlsOptions;
    this.raw = net.connect({
      ...(tcp as net.TcpNetConnectOpts),
      host: origin.hostname,
      port: origin.port,
      onread: { buffer: rawBuf, callback: (n: number, buf: Uint8Array) => this.onRaw(n, buf) },
    });
    const raw = this.raw;
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        raw.write(chunk, cb);
      },
      final(cb) {
        raw.end();
        cb();
      },
    });
    this.wire = wire;
    this.tls = tls.connect({
      ...tlsOptions,
      socket: wire,
      host: origin.hostname,
      servername: net.isIP(origin.hostname) ? undefined : origin.hostname,
    } as tls.ConnectionOptions);
    this.tls.on('keylog', (line: Buffer) => {
      this.secret = serverSecret(line) ?? this.secret;
    });
    this.tls.once('secureConnect', () => this.handOver());
    this.tls.on('error', (e: Error) => this.destroy(e));
    this.raw.on('error', (e: Error) => this.destroy(e));
    this.raw.on('timeout', () => this.emit('timeout'));
    this.raw.on('end', () => (this.path === undefined ? wire.push(null) : undefined));
    this.raw.on('close', () => this.destroy());
  }

  private onRaw(n: number, buf: Uint8Array): boolean {
    const copy = Buffer.from(buf.subarray(0, n));
    this.received?.push(copy);
    this.wire.push(copy);
    return true;
  }

  private handOver(): void {
    if (this.destroyed) return;
    this.raw.pause(); // the raw socket's bytes go nowhere from here but to the addon (or, below, Node's TLS)
    const why = this.refusal();
    if (why === undefined) {
      try {
        const keys = trafficKeys(SUITES[this.tls.getCipher().standardName]!, this.secret!);
        const { seq, rest, handshake } = replay(keys, Buffer.concat(this.received!));
        this.reads.open(socketFd(this.raw)!, keys.suite.id, keys.key, keys.iv, seq, rest, handshake);
        keys.key.fill(0);
        this.path = 'native';
      } catch (e) {
        // This connection's records (or the addon) stand in the way, not the origin's TLS: the next one tries again.
        return this.refuse(e instanceof HandoverError ? e.message : `the addon refused it (${(e as Error).message})`, false);
      }
    } else return this.refuse(why, true);
    this.received = undefined;
    this.secret = undefined; // (the addon keeps only the expanded key, in its cipher context)
    this.emit('secureConnect');
  }

  /** Why this connection cannot be handed over, if it cannot. */
  private refusal(): string | undefined {
    const cipher = this.tls.getCipher();
    if (this.tls.getProtocol() !== 'TLSv1.3') return `${this.tls.getProtocol()} (the native reader reads TLS 1.3)`;
    if (!SUITES[cipher.standardName]) return `cipher suite ${cipher.standardName}`;
    if (!this.secret) return 'no traffic secret was logged';
    if (socketFd(this.raw) === undefined) return 'the socket has no file descriptor';
    return undefined;
  }

  /** Node's path for this connection (and, `always`, for its origin from now on): decrypted bytes copied where onread says. */
  private refuse(why: string, always: boolean): void {
    debug('TLS to %s:%d stays on Node\'s path: %s', this.origin.hostname, this.origin.port, why);
    if (always) refusedOrigins.add(originKey(this.origin));
    this.path = 'node';
    this.received = this.secret = undefined;
    this.tls.on('data', (chunk: Buffer) => this.reads.copy(chunk));
    this.tls.on('end', () => this.emit('end'));
    this.emit('secureConnect');
    this.raw.resume();
  }

  write(data: string | Uint8Array, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    return this.tls.write(data, encoding as BufferEncoding, cb);
  }

  pause(): this {
    this.reads.pause();
    if (this.path === 'node') this.tls.pause();
    return this;
  }

  resume(): this {
    if (this.destroyed) return this;
    this.reads.resume();
    if (this.path === 'node' && !this.reads.paused) this.tls.resume();
    return this;
  }

  protected override closeMore(): void {
    this.tls.destroy();
  }

  /** Records the addon decrypted on this connection (tests). */
  get records(): number {
    return this.reads.records;
  }
}

/** Opens an HTTPS connection that reads through the addon (connection.ts's Connect). */
export function connectNativeTls(origin: Origin, tlsOptions: tls.ConnectionOptions, onread: OnRead): net.Socket {
  return new NativeTlsSocket(origin, tlsOptions, onread) as unknown as net.Socket;
}
