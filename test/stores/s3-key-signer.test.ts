// Signing the keys of a bucket without getSignedUrl's middleware (src/stores/s3-key-signer.ts): every URL
// must be the one the SDK itself makes for that key at that instant, whatever the key, the endpoint's
// style and the credentials; where the SDK's URL cannot be re-created, there is no such signer. The
// reference is the SDK (getSignedUrl at the same signing date), and s3rver, which checks signatures.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RequestPresigner, getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMany, release } from '../../src/index.js';
import { escapeKey, keySigner } from '../../src/stores/s3-key-signer.js';
import { startS3rver } from '../../testing/emulators/s3rver.js';
import { writerFor } from '../../testing/writers.js';
import { prng } from '../../testing/prng.js';

const SEED = Number(process.env.RANGEPOOL_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ODD = ['a b', 'c+d', 'e%20f', 'q?v=2', 'h#i', "!'()*", '~tilde', 'dir//x', 'trailing/', 'ünï/cödé', '日本語', 'emoji 🎉', 'semi;colon', 'a&b=c', '[x]', 'x\\y', 'tab\tkey'];

/** A random key of 1-40 characters from a mix of safe, reserved and non-ASCII ones. */
function randomKey(random: () => number): string {
  const chars = 'abcXYZ019-_.~/ +%?#&=;:@!$\'()*,[]{}|\\^`"<>äé日🎉';
  const glyphs = [...chars];
  return Array.from({ length: 1 + Math.floor(random() * 40) }, () => glyphs[Math.floor(random() * glyphs.length)]).join('');
}

const clients: Array<[string, () => S3Client]> = [
  ['a local endpoint, path style', () => new S3Client({ endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } })],
  ['AWS, virtual-hosted, another region, a session token', () => new S3Client({ region: 'eu-west-3', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'tok+en/with=chars' } })],
  ['AWS, path style forced', () => new S3Client({ region: 'us-west-2', forcePathStyle: true, credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } })],
];

describe.each(clients)('every key signs as the SDK signs it: %s', (_name, make) => {
  it(`odd keys and 300 random ones (seed ${SEED})`, async () => {
    const client = make();
    const when = new Date(Date.UTC(2026, 11, 7, 12, 0, 0));
    const sdkUrl = (key: string) => getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket-1', Key: key }), { expiresIn: 900, signingDate: when });
    const signer = await keySigner(S3RequestPresigner, client, await sdkUrl('first/key.bin'), 'first/key.bin');
    expect(signer).toBeDefined();
    const random = prng(SEED);
    for (const key of [...ODD, ...Array.from({ length: 300 }, () => randomKey(random))]) {
      const ours = new URL(await signer!.sign(key, 900, when));
      const theirs = new URL(await sdkUrl(key));
      const replay = `key ${JSON.stringify(key)} (replay with RANGEPOOL_FUZZ_SEED=${SEED})`;
      expect(ours.origin + ours.pathname, replay).toBe(theirs.origin + theirs.pathname);
      expect([...ours.searchParams].sort(), replay).toEqual([...theirs.searchParams].sort());
    }
  });
});

describe('where the SDK URL cannot be re-created, there is no signer', () => {
  const client = clients[0]![1]();
  it.each([
    ['the URL is for another key', 'other/key', 'first/key'],
    ['another algorithm', 'k', 'k', (u: URL) => u.searchParams.set('X-Amz-Algorithm', 'AWS4-ECDSA-P256-SHA256')],
    ['a signature that is not the one the inputs give', 'k', 'k', (u: URL) => u.searchParams.set('X-Amz-Signature', '0'.repeat(64))],
    ['a parameter twice', 'k', 'k', (u: URL) => u.searchParams.append('x-id', 'GetObject')],
    ['no date', 'k', 'k', (u: URL) => u.searchParams.delete('X-Amz-Date')],
  ])('%s', async (_what, signedFor, key, change?: (u: URL) => void) => {
    const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: 'b', Key: signedFor }), { expiresIn: 900 }));
    change?.(url);
    expect(await keySigner(S3RequestPresigner, client, url.href, key)).toBeUndefined();
  });

  it('escapes a key as the SDK does', () => {
    expect(escapeKey("a b/c+d/!'()*/ü")).toBe('a%20b/c%2Bd/%21%27%28%29%2A/%C3%BC');
  });
});

describe('s3rver, which checks every signature, serves odd keys signed this way', () => {
  let server: Awaited<ReturnType<typeof startS3rver>>;
  const keys = ODD.filter((k) => !k.endsWith('/') && !k.includes('//') && !k.includes('\t')).map((k) => `odd/${k}`);
  beforeAll(async () => {
    server = await startS3rver(['signed']);
    const w = await writerFor('s3://signed/x', { endpoint: server.endpoint, credentials: server.credentials });
    for (const k of keys) await w.put(`s3://signed/${k}`, Buffer.from(`bytes of ${k}`));
  });
  afterAll(() => server?.stop());

  it('getMany of the odd keys on the direct transport: each exact (the first signed by the SDK, the rest by the signer)', async () => {
    const got = new Map<string, string>();
    for await (const r of getMany(keys.map((k) => `s3://signed/${k}`), { storeOptions: { endpoint: server.endpoint, credentials: server.credentials, transport: 'direct' }, cache: false, objects: 1 })) {
      if (r.error) throw r.error;
      got.set(r.uri, r.buffer!.toString());
      release(r.buffer!);
    }
    expect([...got.values()].sort()).toEqual(keys.map((k) => `bytes of ${k}`).sort());
  });
});
