// A connection destroyed while its body is still arriving never writes its destination again (the native
// readers let go of it synchronously): five rounds, each destroying a little later, the destination then
// refilled with a marker and checked after the server has gone on sending.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Connection } from '../../src/http/connection.js';

/** `serve(body)` makes the server answer with `body` as a slow trickle; `open()` a fresh connection to it. */
export async function destroyedNeverWrites(serve: (body: Buffer) => void, open: () => Connection): Promise<void> {
  const body = randomBytes(4 << 20);
  serve(body);
  for (let round = 0; round < 5; round++) {
    const c = open();
    await c.send('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
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
