// What the HTTP reader (connection.ts) and the sockets it reads from agree on: where a connection goes,
// Node's `onread` contract, and which TLS path a connection's bodies took. Its own module, so a socket
// (native-tls.ts) and the reader need not import each other.

export interface Origin {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
}

/** Node's `onread` contract: buffer() says where the next read lands, callback() says it did (false pauses). */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (n: number, buf: Uint8Array) => boolean;
  /** Whether `buf` (from buffer()) is a body's destination, which a reader may fill before calling back. */
  fills?: (buf: Uint8Array) => boolean;
}

/** How a TLS connection's bodies were read: decrypted by the addon, or by Node one record per call. */
export type TlsPath = 'native' | 'node';
