// The loopback object server is test and benchmark infrastructure: it must be right in its own right.
import { S3Client, PutObjectCommand, HeadObjectCommand, GetObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { crc32c, crc64nvme, parseRange, startObjectServer } from '../testing/object-server/index.js';
import { root, tsArgs } from '../testing/spawn.js';

type Server = Awaited<ReturnType<typeof startObjectServer>>;
let server: Server;
const data = randomBytes(100_000);

/** A raw GET: status, headers, the bytes received, and the socket error if the connection broke. */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, any>; body: Buffer; error?: Error; firstByteAt: number[] }>((resolve) => {
    const chunks: Buffer[] = [];
    const times: number[] = [];
    const req = request(`${server.url}${path}`, { method, headers, agent: false }, (res) => {
      const done = (error?: Error) =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), error, firstByteAt: times });
      res.on('data', (c) => (chunks.push(c), times.push(Date.now())));
      res.on('end', () => done());
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new Error('aborted')));
    });
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: Buffer.concat(chunks), error: e, firstByteAt: times }));
    req.end();
  });
}

beforeAll(async () => {
  server = await startObjectServer({ seed: 7 });
});
afterAll(() => server.close());
beforeEach(() => {
  server.setFaults([]);
  server.put('b', 'dir/obj', data);
  server.put('b', 'empty', Buffer.alloc(0));
});

describe('ranges', () => {
  it('parses single ranges the way S3 does', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-500', 100)).toEqual([0, 99]);
    expect(parseRange('bytes=95-200', 100)).toEqual([95, 99]);
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-0', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-2', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
  });

  it('serves byte-exact ranges with Content-Range, and 416 past the end', async () => {
    for (const [range, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=10-1009', 10, 1009],
      ['bytes=99999-', 99999, 99999],
      ['bytes=-7', 99993, 99999],
      ['bytes=50000-999999', 50000, 99999],
    ] as const) {
      const r = await raw('/b/dir/obj', { range });
      expect(r.status).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/100000`);
      expect(r.body.equals(data.subarray(start, end + 1))).toBe(true);
    }
    const past = await raw('/b/dir/obj', { range: 'bytes=100000-' });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */100000');
    const whole = await raw('/b/dir/obj');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(data)).toBe(true);
    expect((await raw('/b/empty')).body.length).toBe(0);
  });

  it('gives ETag as quoted MD5, honours If-Match with 412, and 404s with S3 codes', async () => {
    const etag = `"${createHash('md5').update(data).digest('hex')}"`;
    const head = await raw('/b/dir/obj', {}, 'HEAD');
    expect(head.headers.etag).toBe(etag);
    expect(head.headers['content-length']).toBe('100000');
    expect((await raw('/b/dir/obj', { 'if-match': etag, range: 'bytes=0-1' })).status).toBe(206);
    const stale = await raw('/b/dir/obj', { 'if-match': '"0000"', range: 'bytes=0-1' });
    expect(stale.status).toBe(412);
    expect(stale.body.toString()).toContain('<Code>PreconditionFailed</Code>');
    expect((await raw('/b/missing')).body.toString()).toContain('<Code>NoSuchKey</Code>');
    expect((await raw('/nobucket/x')).body.toString()).toContain('<Code>NoSuchBucket</Code>');
  });
});

describe('checksums', () => {
  it('computes CRC32C and CRC64NVME correctly', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc64nvme(Buffer.from('123456789'))).toBe(0xae8b14860a799888n);
  });

  it('serves them only with x-amz-checksum-mode: ENABLED', async () => {
    expect((await raw('/b/dir/obj', {}, 'HEAD')).headers['x-amz-checksum-crc32c']).toBeUndefined();
    const h = (await raw('/b/dir/obj', { 'x-amz-checksum-mode': 'ENABLED' }, 'HEAD')).headers;
    expect(Buffer.from(h['x-amz-checksum-crc32c'], 'base64').readUInt32BE()).toBe(crc32c(data));
    expect(Buffer.from(h['x-amz-checksum-crc64nvme'], 'base64').readBigUInt64BE()).toBe(crc64nvme(data));
    expect(h['x-amz-checksum-type']).toBe('FULL_OBJECT');
  });
});

describe('with the real AWS SDK', () => {
  const client = () =>
    new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });

  it('puts, heads with checksums, gets a range and lists with pagination', async () => {
    const s3 = client();
    const body = randomBytes(5000);
    await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'sdk/a b+c', Body: body }));
    expect(server.get('b', 'sdk/a b+c')!.data.equals(body)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'sdk/a b+c', ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(5000);
    expect(Buffer.from(head.ChecksumCRC32C!, 'base64').readUInt32BE()).toBe(crc32c(body));
    expect(head.ChecksumCRC64NVME).toBeDefined();
    const part = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'sdk/a b+c', Range: 'bytes=100-199' }));
    expect(part.ContentRange).toBe('bytes 100-199/5000');
    expect(Buffer.from(await part.Body!.transformToByteArray()).equals(body.subarray(100, 200))).toBe(true);
    for (let i = 0; i < 5; i++) server.put('b', `page/${i}`, Buffer.alloc(i));
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'page/', MaxKeys: 2, ContinuationToken: token }));
      keys.push(...page.Contents!.map((c) => `${c.Key}:${c.Size}`));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys).toEqual(['page/0:0', 'page/1:1', 'page/2:2', 'page/3:3', 'page/4:4']);
    // With a delimiter, as S3: a folder is one CommonPrefix (its marker too), MaxKeys counts both, and a page
    // that ends on a folder goes on past every key under it.
    for (const k of ['tree/', 'tree/a/', 'tree/a/1', 'tree/a/2', 'tree/b', 'tree/c/1', 'tree/d']) server.put('b', k, Buffer.alloc(1));
    const seen: string[] = [];
    token = undefined;
    do {
      const page: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'tree/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.CommonPrefixes ?? []).map((p) => `PRE ${p.Prefix}`), ...(page.Contents ?? []).map((c) => c.Key!));
      expect((page.CommonPrefixes?.length ?? 0) + (page.Contents?.length ?? 0)).toBeLessThanOrEqual(2);
      token = page.NextContinuationToken;
    } while (token);
    expect(seen.sort()).toEqual(['PRE tree/a/', 'PRE tree/c/', 'tree/', 'tree/b', 'tree/d']);
  });

  it('refuses aws-chunked bodies (the SDK default for streams) instead of storing the framing', async () => {
    const s3 = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const Body = Readable.from([randomBytes(100)]);
    const err = await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'chunked', Body, ContentLength: 100 })).catch((e) => e);
    expect(err.name).toBe('NotImplemented');
    expect(server.get('b', 'chunked')).toBeUndefined();
  });
});

describe('faults', () => {
  const range = { range: 'bytes=0-49999' };

  it('status: answers with the injected code, count times', async () => {
    server.setFaults([{ kind: 'status', status: 503, count: 2 }]);
    expect((await raw('/b/dir/obj', range)).status).toBe(503);
    expect((await raw('/b/dir/obj', range)).body.toString()).toContain('SlowDown');
    expect((await raw('/b/dir/obj', range)).status).toBe(206);
    expect(server.stats.faults.status).toBe(2);
  });

  it('reset: the connection breaks after exactly afterBytes', async () => {
    server.setFaults([{ kind: 'reset', afterBytes: 1000, count: 1 }]);
    const r = await raw('/b/dir/obj', range);
    expect(r.status).toBe(206);
    expect(r.error).toBeDefined();
    expect(r.body.length).toBe(1000);
  });

  it('short: fewer bytes than Content-Length', async () => {
    server.setFaults([{ kind: 'short', afterBytes: 123, count: 1 }]);
    const r = await raw('/b/dir/obj', range);
    expect(r.headers['content-length']).toBe('50000');
    expect(r.body.length).toBe(123);
  });

  it('wrongRange: Content-Range and bytes shifted from what was asked', async () => {
    server.setFaults([{ kind: 'wrongRange', shift: 5, count: 1 }]);
    const r = await raw('/b/dir/obj', { range: 'bytes=0-99' });
    expect(r.headers['content-range']).toBe('bytes 5-104/100000');
    expect(r.body.equals(data.subarray(5, 105))).toBe(true);
  });

  it('stall: the rest of the body comes only after the pause', async () => {
    server.setFaults([{ kind: 'stall', afterBytes: 10, ms: 300, count: 1 }]);
    const t0 = Date.now();
    const r = await raw('/b/dir/obj', range);
    expect(r.body.equals(data.subarray(0, 50000))).toBe(true);
    expect(r.firstByteAt[r.firstByteAt.length - 1]! - t0).toBeGreaterThanOrEqual(250);
  });

  it('overwrite: the object changes after n range requests, with a new ETag', async () => {
    const next = randomBytes(100_000);
    server.setFaults([{ kind: 'overwrite', afterRequests: 2, data: next, count: 1 }]);
    const a = await raw('/b/dir/obj', range);
    const b = await raw('/b/dir/obj', range);
    const c = await raw('/b/dir/obj', range);
    expect(a.headers.etag).toBe(b.headers.etag);
    expect(c.headers.etag).not.toBe(a.headers.etag);
    expect(c.body.equals(next.subarray(0, 50000))).toBe(true);
  });

  it('probability with a seed is reproducible', async () => {
    const run = async () => {
      server.setFaults([{ kind: 'status', status: 500, probability: 0.5 }], 42);
      const out = [];
      for (let i = 0; i < 20; i++) out.push((await raw('/b/dir/obj', range)).status);
      return out;
    };
    const first = await run();
    expect(first).toContain(500);
    expect(first).toContain(206);
    expect(await run()).toEqual(first);
  });

  it("faults hit ranged GETs unless a rule says on: 'head'", async () => {
    server.setFaults([{ kind: 'status', status: 500 }]);
    expect((await raw('/b/dir/obj', {}, 'HEAD')).status).toBe(200);
    expect((await raw('/b/dir/obj')).status).toBe(200);
    server.setFaults([{ kind: 'status', status: 503, on: 'head' }]);
    expect((await raw('/b/dir/obj', {}, 'HEAD')).status).toBe(503);
    expect((await raw('/b/dir/obj', range)).status).toBe(206);
  });

  it('match limits a rule to one key', async () => {
    server.put('b', 'other', data);
    server.setFaults([{ kind: 'status', status: 500, match: { key: 'other' } }]);
    expect((await raw('/b/dir/obj', range)).status).toBe(206);
    expect((await raw('/b/other', range)).status).toBe(500);
  });
});

describe('in its own process', () => {
  it('prints its address, serves PUT/GET and control, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r));
    const { url } = JSON.parse(line);
    const body = randomBytes(1000);
    const put = await fetch(`${url}/bk/k`, { method: 'PUT', body });
    expect(put.status).toBe(200);
    expect(Buffer.from(await (await fetch(`${url}/bk/k`)).arrayBuffer()).equals(body)).toBe(true);
    await fetch(`${url}/_control/faults`, { method: 'POST', body: JSON.stringify({ rules: [{ kind: 'status', status: 500, count: 1 }] }) });
    expect((await fetch(`${url}/bk/k`, { headers: { range: 'bytes=0-1' } })).status).toBe(500);
    await fetch(`${url}/_control/replicate`, { method: 'POST', body: JSON.stringify({ bucket: 'bk', key: 'k', prefix: 'copy-', count: 3 }) });
    expect(Buffer.from(await (await fetch(`${url}/bk/copy-2`)).arrayBuffer()).equals(body)).toBe(true);
    expect((await fetch(`${url}/bk/copy-3`)).status).toBe(404);
    const stats = (await (await fetch(`${url}/_control/stats`)).json()) as { faults: Record<string, number> };
    expect(stats.faults.status).toBe(1);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('started with stdin closed (as from a shell, in the background) it keeps serving; --with-parent ends with its stdin', async () => {
    const alone = spawn(process.execPath, tsArgs('testing/object-server/main.ts'), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: alone.stdout! }).once('line', r)));
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${url}/bk/none`)).status).toBe(404); // still there
    const aloneExit = new Promise<number | null>((r) => alone.once('exit', r));
    alone.kill('SIGTERM');
    expect(await aloneExit).toBe(0);
    const tied = spawn(process.execPath, [...tsArgs('testing/object-server/main.ts'), '--with-parent'], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<string>((r) => createInterface({ input: tied.stdout! }).once('line', r));
    const tiedExit = new Promise<number | null>((r) => tied.once('exit', r));
    tied.stdin!.end();
    expect(await tiedExit).toBe(0);
  });
});
