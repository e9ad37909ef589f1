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
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { debuglog } from 'node:util';
import { binding } from '../native.js';
import type { OnRead, Origin, TlsPath } from './socket-contract.js';
import { HandoverError, replay, serverSecret, SUITES, trafficKeys } from './tls13.js';

const debug = debuglog('rangepool');

/** Events the addon delivered on this thread (one per destination it filled or piece it reported). */
export const tlsCounters = { events: 0 };

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
const END_EVENTS = ['', 'close_notify', 'end of stream'];

export class NativeTlsSocket extends EventEmitter {
  destroyed = false;
  /** Which path this connection's bodies take (set at 'secureConnect'). */
  path: TlsPath | undefined;
  private readonly raw: net.Socket;
  /** The stream Node's TLS runs over: what the raw socket read goes in, what TLS writes goes out. */
  private readonly wire: Duplex;
  private readonly tls: tls.TLSSocket;
  /** Ciphertext read before the hand-over (only the handshake's, and a partial record after it). */
  private received: Buffer[] | undefined = [];
  private secret: Buffer | undefined;
  private handle: object | undefined;
  /** The destination the addon holds, until its event. */
  private pending: Uint8Array | undefined;
  private paused = false;
  private refed = true;
  /** Node's path: decrypted bytes that arrived while paused. */
  private backlog: Buffer[] = [];

  constructor(
    private readonly origin: Origin,
    tlsOptions: tls.ConnectionOptions,
    private readonly onread: OnRead,
  ) {
    super();
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
        this.handle = binding!.tlsOpen(fd(this.raw)!, keys.suite.id, keys.key, keys.iv, seq, rest, handshake, (b, e, m) => this.onEvent(b, e, m));
        keys.key.fill(0);
        binding!.tlsRef(this.handle, this.refed);
        this.path = 'native';
      } catch (e) {
        // This connection's records (or the addon) stand in the way, not the origin's TLS: the next one tries again.
        return this.refuse(e instanceof HandoverError ? e.message : `the addon refused it (${(e as Error).message})`, false);
      }
    } else return this.refuse(why, true);
    this.received = undefined;
    this.secret = undefined; // (the addon keeps only the expanded key, in its cipher context)
    this.emit('secureConnect');
    if (!this.paused) this.next();
  }

  /** Why this connection cannot be handed over, if it cannot. */
  private refusal(): string | undefined {
    const cipher = this.tls.getCipher();
    if (this.tls.getProtocol() !== 'TLSv1.3') return `${this.tls.getProtocol()} (the native reader reads TLS 1.3)`;
    if (!SUITES[cipher.standardName]) return `cipher suite ${cipher.standardName}`;
    if (!this.secret) return 'no traffic secret was logged';
    if (fd(this.raw) === undefined) return 'the socket has no file descriptor';
    return undefined;
  }

  /** Node's path for this connection (and, `always`, for its origin from now on): decrypted bytes copied where onread says. */
  private refuse(why: string, always: boolean): void {
    debug('TLS to %s:%d stays on Node\'s path: %s', this.origin.hostname, this.origin.port, why);
    if (always) refusedOrigins.add(originKey(this.origin));
    this.path = 'node';
    this.received = this.secret = undefined;
    this.tls.on('data', (chunk: Buffer) => this.fromNode(chunk));
    this.tls.on('end', () => this.emit('end'));
    this.emit('secureConnect');
    this.raw.resume();
  }

  private fromNode(chunk: Buffer): void {
    if (this.paused || this.backlog.length > 0) return void this.backlog.push(chunk);
    let at = 0;
    while (at < chunk.length && !this.destroyed) {
      const buf = this.onread.buffer();
      const n = Math.min(buf.length, chunk.length - at);
      buf.set(chunk.subarray(at, at + n));
      at += n;
      if (this.onread.callback(n, buf) === false) this.pause();
      if (this.paused && at < chunk.length) return void this.backlog.push(chunk.subarray(at));
    }
  }

  /** Names the next destination to the addon. */
  private next(): void {
    if (this.destroyed || this.paused || this.pending || !this.handle) return;
    const buf = this.onread.buffer();
    this.pending = buf;
    binding!.tlsTarget(this.handle, buf, this.onread.fills?.(buf) ?? false);
  }

  private onEvent(bytes: number, end: number, error: string | undefined): void {
    const buf = this.pending;
    if (this.destroyed || !buf) return; // closed while this event was on its way
    this.pending = undefined;
    tlsCounters.events++;
    try {
      if (bytes > 0 && this.onread.callback(bytes, buf) === false) this.pause();
      if (end === 3) this.destroy(Object.assign(new Error(error ?? 'TLS: the native reader failed'), { code: 'ERR_RANGEPOOL_TLS' }));
      else if (end !== 0) {
        debug('TLS to %s:%d ended (%s)', this.origin.hostname, this.origin.port, END_EVENTS[end]);
        this.emit('end');
        this.destroy();
      } else this.next();
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  write(data: string | Uint8Array, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    return this.tls.write(data, encoding as BufferEncoding, cb);
  }

  pause(): this {
    if (this.paused) return this;
    this.paused = true;
    if (this.path === 'node') this.tls.pause();
    else if (this.handle && this.pending) binding!.tlsPause(this.handle, true);
    return this;
  }

  resume(): this {
    if (!this.paused || this.destroyed) return this;
    this.paused = false;
    if (this.path === 'node') {
      const backlog = this.backlog.splice(0);
      for (const chunk of backlog) this.fromNode(chunk);
      if (!this.paused) this.tls.resume();
    } else if (this.handle) {
      if (this.pending) binding!.tlsPause(this.handle, false);
      else this.next();
    }
    return this;
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    // First the addon lets go of the destination (synchronously), then the sockets close.
    if (this.handle) binding!.tlsClose(this.handle);
    this.pending = undefined;
    this.tls.destroy();
    this.raw.destroy();
    process.nextTick(() => {
      if (error) this.emit('error', error);
      this.emit('close', error !== undefined);
    });
    return this;
  }

  setNoDelay(on = true): this {
    this.raw.setNoDelay(on);
    return this;
  }

  setTimeout(ms: number): this {
    this.raw.setTimeout(ms);
    return this;
  }

  ref(): this {
    this.refed = true;
    this.raw.ref();
    if (this.handle && !this.destroyed) binding!.tlsRef(this.handle, true);
    return this;
  }

  unref(): this {
    this.refed = false;
    this.raw.unref();
    if (this.handle && !this.destroyed) binding!.tlsRef(this.handle, false);
    return this;
  }

  /** Records the addon decrypted on this connection (tests). */
  get records(): number {
    return this.handle && !this.destroyed ? binding!.tlsRecords(this.handle) : 0;
  }
}

/** The raw socket's file descriptor (POSIX), where Node's handle exposes one. */
function fd(socket: net.Socket): number | undefined {
  const n = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof n === 'number' && n >= 0 ? n : undefined;
}

/** Opens an HTTPS connection that reads through the addon (connection.ts's Connect). */
export function connectNativeTls(origin: Origin, tlsOptions: tls.ConnectionOptions, onread: OnRead): net.Socket {
  return new NativeTlsSocket(origin, tlsOptions, onread) as unknown as net.Socket;
}
