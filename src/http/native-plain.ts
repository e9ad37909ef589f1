// A plain HTTP connection whose bytes are read in native code (opt-in: RANGEPOOL_NATIVE_HTTP=1): Node connects (lookup, options, errors as for
// net.connect) and sends the requests; at 'connect' it stops reading the socket and the addon's I/O threads
// (native/tls_reader.h, without decryption) read it straight into the destination the reader names,
// reporting once per piece (a full destination, 1 MiB, or 5 ms of quiet) instead of once per read. So the
// kernel's copy out of the socket runs off the event loop, beside the JavaScript that steers.
//
// The same `onread` contract as native-tls.ts. Where there is no file descriptor to hand over, the
// connection goes on through Node's reads, copied where `onread` says.
import * as net from 'node:net';
import { constants } from 'node:os';
import { binding } from '../native.js';
import type { OnRead, Origin } from './socket-contract.js';
import { NativeReadSocket, NativeReads, socketFd } from './native-reads.js';

/**
 * Whether plain HTTP connections read through the addon: only with RANGEPOOL_NATIVE_HTTP=1 (an error where
 * the addon cannot). Off by default: on the shaped network (63 connections trickling at 24 MB/s each) it
 * cost 8-15 % more CPU than Node's reads for the same time (the I/O thread polls every channel on every
 * wake-up), and on loopback it gained 8 % for `rangepool get` at the same CPU; unlike TLS there is no
 * per-record JavaScript call for it to save.
 */
export function nativePlainFor(): boolean {
  if (process.env.RANGEPOOL_NATIVE_HTTP !== '1') return false;
  if (binding?.plainReaderAvailable !== true || process.platform === 'win32') throw new Error('RANGEPOOL_NATIVE_HTTP=1, but native reads are not available here');
  return true;
}

const RAW_READ = 64 * 1024;
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export class NativePlainSocket extends NativeReadSocket {
  protected readonly raw: net.Socket;
  protected readonly reads: NativeReads;
  /** Bytes Node read before the hand-over (a server that speaks first), then undefined. */
  private early: Buffer[] | undefined = [];
  /** No hand-over (no fd): Node's reads, copied where onread says. */
  private viaNode = false;

  constructor(origin: Origin, onread: OnRead) {
    super();
    this.raw = net.connect({
      host: origin.hostname,
      port: origin.port,
      onread: { buffer: Buffer.allocUnsafe(RAW_READ), callback: (n: number, buf: Uint8Array) => this.onRaw(Buffer.from(buf.subarray(0, n))) },
    });
    this.reads = new NativeReads(onread, {
      end: () => {
        this.emit('end');
        this.destroy();
      },
      fail: (e) => this.destroy(typeof e === 'string' ? readError(e) : e),
    });
    this.raw.once('connect', () => this.handOver());
    this.raw.on('error', (e: Error) => this.destroy(e));
    this.raw.on('timeout', () => this.emit('timeout'));
    this.raw.on('end', () => this.emit('end'));
    this.raw.on('close', () => this.destroy());
  }

  private onRaw(chunk: Buffer): boolean {
    if (this.viaNode) this.reads.copy(chunk);
    else this.early?.push(chunk);
    return true;
  }

  private handOver(): void {
    if (this.destroyed) return;
    const fd = socketFd(this.raw);
    if (fd === undefined) {
      this.viaNode = true;
      const early = this.early!.splice(0);
      this.early = undefined;
      this.emit('connect');
      for (const chunk of early) this.reads.copy(chunk);
      return;
    }
    this.raw.pause(); // from here the socket's bytes go only to the addon
    const none = Buffer.alloc(0);
    try {
      this.reads.open(fd, 0, none, none, 0, Buffer.concat(this.early!), none);
    } catch (e) {
      return void this.destroy(e as Error);
    }
    this.early = undefined;
    this.emit('connect');
  }

  write(data: string | Uint8Array, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    return this.raw.write(data, encoding as BufferEncoding, cb);
  }

  pause(): this {
    if (this.viaNode) this.raw.pause();
    this.reads.pause();
    return this;
  }

  resume(): this {
    if (this.destroyed) return this;
    this.reads.resume();
    if (this.viaNode && !this.reads.paused) this.raw.resume();
    return this;
  }
}

/** The reader's "errno N" as Node names a socket's failure (code ECONNRESET, syscall read). */
function readError(message: string): Error {
  const n = /^errno (\d+)$/.exec(message)?.[1];
  const code = n === undefined ? undefined : ERRNO_NAMES.get(Number(n));
  return Object.assign(new Error(code ? `read ${code}` : message), { code: code ?? 'ERR_RANGEPOOL_READ', syscall: 'read' });
}

/** Opens a plain HTTP connection that reads through the addon (connection.ts's Connect). */
export function connectNativePlain(origin: Origin, onread: OnRead): net.Socket {
  return new NativePlainSocket(origin, onread) as unknown as net.Socket;
}
