// The key schedule and the hand-over's replay (src/http/tls13.ts), against RFC 8448's worked example and
// records sealed here.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HandoverError, replay, serverSecret, SUITES, trafficKeys } from '../../src/http/tls13.js';
import { seal } from '../support/tls-record-proxy.js';

describe('traffic keys (HKDF-Expand-Label, RFC 8446 §7.1)', () => {
  it("give RFC 8448 §3's application write keys and IVs from its traffic secrets", () => {
    const suite = SUITES.TLS_AES_128_GCM_SHA256!;
    const server = trafficKeys(suite, Buffer.from('a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643', 'hex'));
    expect(server.key.toString('hex')).toBe('9f02283b6c9c07efc26bb9f2ac92e356');
    expect(server.iv.toString('hex')).toBe('cf782b88dd83549aadf1e984');
    const client = trafficKeys(suite, Buffer.from('9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5', 'hex'));
    expect(client.key.toString('hex')).toBe('17422dda596ed5d9acd890e3c63f5051');
    expect(client.iv.toString('hex')).toBe('5b78923dee08579033e523d9');
  });

  it("read the server's secret from a key log line, and nothing from others", () => {
    expect(serverSecret(`SERVER_TRAFFIC_SECRET_0 ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`)?.toString('hex')).toBe('cd'.repeat(48));
    expect(serverSecret(`CLIENT_TRAFFIC_SECRET_0 ${'ab'.repeat(32)} ${'cd'.repeat(32)}`)).toBeUndefined();
  });
});

describe('the replay of what the handshake read', () => {
  const keys = trafficKeys(SUITES.TLS_AES_256_GCM_SHA384!, randomBytes(48));
  const other = trafficKeys(SUITES.TLS_AES_256_GCM_SHA384!, randomBytes(48)); // the handshake keys, as far as the replay can tell
  const plain = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff]), body]);
  const ticket = (n: number) => Buffer.concat([Buffer.from([4, 0, n >> 8, n & 0xff]), randomBytes(n)]);
  const handshake = [plain(22, randomBytes(90)), plain(20, Buffer.from([1])), seal(other, 0, 22, randomBytes(2000)), seal(other, 1, 22, randomBytes(300))];

  it('passes over the handshake, counts the tickets under the application key, and keeps a partial record', () => {
    const t2 = ticket(200);
    const next = seal(keys, 2, 23, randomBytes(100));
    const received = Buffer.concat([...handshake, seal(keys, 0, 22, ticket(150)), seal(keys, 1, 22, t2.subarray(0, 50)), next.subarray(0, 30)]);
    const r = replay(keys, received);
    expect(r.seq).toBe(2);
    expect(r.rest.equals(next.subarray(0, 30))).toBe(true);
    expect(r.handshake.equals(t2.subarray(0, 50))).toBe(true); // a ticket cut across records goes on natively
  });

  it('refuses data before any request, a record after the first that does not open, and a plaintext record among them', () => {
    expect(() => replay(keys, Buffer.concat([...handshake, seal(keys, 0, 23, Buffer.from('HTTP/1.1 200'))]))).toThrow(HandoverError);
    expect(() => replay(keys, Buffer.concat([...handshake, seal(keys, 0, 22, ticket(10)), seal(other, 1, 22, ticket(10))]))).toThrow(/failed its integrity check/);
    expect(() => replay(keys, Buffer.concat([...handshake, seal(keys, 0, 22, ticket(10)), plain(22, randomBytes(10))]))).toThrow(HandoverError);
    expect(() => replay(keys, Buffer.concat([...handshake, seal(keys, 0, 22, Buffer.from([24, 0, 0, 1, 0]))]))).toThrow(/handshake message 24/);
  });
});
