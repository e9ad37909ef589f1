// Checks the native readers' tests share (test/http/native-tls.test.ts, native-plain.test.ts): bodies read
// whole on one connection, a scripted exchange read response by response, and a connection destroyed while
// its body is still arriving.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Connection } from '../../src/http/connection.js';
import type { ScriptedResponse } from './http-responses.js';

const GET = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n';

/** `times` requests on `c`, each answered with `body`: every body read whole and exact. */
export async function readsExact(c: Connection, body: Buffer, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await c.send(GET);
    const dest = Buffer.alloc(body.length);
    expect(await c.readBody(dest)).toBe(body.length);
    expect(dest.equals(body)).toBe(true);
  }
}

/** Each of `responses` asked for in turn: its exact body, and the connection reusable where it should be. */
export async function readsExchange(c: Connection, responses: ScriptedResponse[], replay: string): Promise<void> {
  for (const r of responses) {
    await c.send(GET);
    const dest = Buffer.alloc(r.body.length + 10);
    const n = await c.readBody(dest).catch((e: Error) => expect.fail(`${replay}: ${e.message}`));
    expect(dest.subarray(0, n).equals(r.body), replay).toBe(true);
    if (r.keepAlive) expect(c.reusable, replay).toBe(true);
  }
}

/**
 * A connection destroyed while its body is still arriving never writes its destination again (the native
 * readers let go of it synchronously): five rounds, each destroying a little later, the destination then
 * refilled with a marker and checked after the server has gone on sending.
 */
/** `serve(body)` makes the server answer with `body` as a slow trickle; `open()` a fresh connection to it. */
export async function destroyedNeverWrites(serve: (body: Buffer) => void, open: () => Connection): Promise<void> {
  const body = randomBytes(4 << 20);
  serve(body);
  for (let round = 0; round < 5; round++) {
    const c = open();
    await c.send(GET);
    const dest = Buffer.alloc(body.length);
    let delivered = 0;
    const reading = c.readBody(dest, { onData: (k) => (delivered += k) }).catch((e: Error) => e);
    while (delivered < 20_000 * (round + 1)) await new Promise((r) => setTimeout(r, 1));
    c.destroy();
    expect(await reading).toBeInstanceOf(Error);
    dest.fill(0xee);
    await new Promise((r) => setTimeout(r, 50));
    expect(dest.every((b) => b === 0xee)).toBe(true);
  }
}
