// The AWS SDK reads every error and list body whole into memory, however long: a server that sends an
// endless one grows the process until it dies. This request handler keeps those bodies small (object
// data, a 2xx GET that is not a listing, passes untouched: the target's size bounds it).
import { Readable } from 'node:stream';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { RangepoolError } from '../errors.js';
import { ERROR_BODY_LIMIT } from './direct.js';
import { LIST_BODY_LIMIT } from './store.js';

type Handle = NodeHttpHandler['handle'];

/** Up to `limit` bytes of `body` as one chunk; past it nothing (the status alone then says what failed). */
async function* smallOrNothing(body: Readable, limit: number): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) return void body.destroy();
    chunks.push(c);
  }
  yield Buffer.concat(chunks);
}

/** `body` as it comes, failing past `limit` bytes. */
async function* atMost(body: Readable, limit: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      body.destroy();
      throw new RangepoolError('IntegrityError', `a list page longer than ${limit} bytes was abandoned (S3 sends at most about 1.5 MiB)`);
    }
    yield c;
  }
}

/** A NodeHttpHandler subclass bounding error bodies (to what direct.ts reads) and list pages. */
export function boundedBodies(Handler: typeof NodeHttpHandler): typeof NodeHttpHandler {
  return class BoundedBodies extends Handler {
    override async handle(...args: Parameters<Handle>): ReturnType<Handle> {
      const out = await super.handle(...args);
      const { response } = out;
      const body = response.body as unknown;
      if (!(body instanceof Readable)) return out;
      if (response.statusCode >= 300) response.body = Readable.from(smallOrNothing(body, ERROR_BODY_LIMIT));
      else if (args[0].query?.['list-type'] !== undefined) response.body = Readable.from(atMost(body, LIST_BODY_LIMIT));
      return out;
    }
  };
}
