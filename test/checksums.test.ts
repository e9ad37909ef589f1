import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cBase64, crc32cCombine } from '../src/crc32c.js';
import { crc64nvme } from '../src/crc64nvme.js';
import { binding } from '../src/native.js';

const vector = Buffer.from('123456789');

describe('checksums', () => {
  it('matches the published check values', () => {
    expect(crc32c(vector)).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa); // RFC 3720 B.4
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32cBase64(0xe3069283)).toBe('4waSgw==');
  });

  it('continues across chunks and combines per-range values in order', () => {
    const data = randomBytes(1 << 20);
    const whole = crc32c(data);
    for (const cut of [0, 1, 7, 8, 4095, 65536, (1 << 20) - 1]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      expect(crc32c(b, crc32c(a))).toBe(whole);
      expect(crc32cCombine(crc32c(a), crc32c(b), b.length)).toBe(whole);
    }
  });

  it('reads exactly the view it is given', () => {
    const data = randomBytes(1000);
    const view = new DataView(data.buffer, data.byteOffset + 3, 500);
    expect(crc32c(view)).toBe(crc32c(data.subarray(3, 503)));
  });

  it('uses the addon with CPU instructions here, and its portable path agrees', () => {
    expect(binding?.crc32cHardware).toBe(true);
    const script = `const b = require(${JSON.stringify(require.resolve('node-gyp-build'))})(${JSON.stringify(process.cwd())});
      const d = Buffer.alloc(100003); for (let i = 0; i < d.length; i++) d[i] = (i * 31) & 255;
      console.log(JSON.stringify([b.crc32cHardware, b.crc32c(d, 0), b.crc32cCombine(b.crc32c(d.subarray(0, 5), 0), b.crc32c(d.subarray(5), 0), d.length - 5)]));`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { env: { ...process.env, RANGEPOOL_CRC32C_PORTABLE: '1' }, encoding: 'utf8' }),
    );
    const d = Buffer.alloc(100003);
    for (let i = 0; i < d.length; i++) d[i] = (i * 31) & 255;
    expect(out).toEqual([false, crc32c(d), crc32c(d)]);
  });

  it('the JavaScript fallback agrees with the addon', () => {
    const data = randomBytes(70001);
    // Through a file: as an argument it would pass Windows' 32 KiB command-line limit.
    const file = join(mkdtempSync(join(tmpdir(), 'rangepool-crc-')), 'data');
    writeFileSync(file, data);
    const script = `import('${new URL('../dist/crc32c.js', import.meta.url).href}').then(async (m) => {
      const d = (await import('node:fs')).readFileSync(${JSON.stringify(file)});
      const c = await import('${new URL('../dist/crc64nvme.js', import.meta.url).href}');
      console.log(JSON.stringify([m.crc32c(d), m.crc32cCombine(m.crc32c(d.subarray(0, 100)), m.crc32c(d.subarray(100)), d.length - 100),
        String(c.crc64nvme(d)), String(c.crc64nvmeCombine(c.crc64nvme(d.subarray(0, 100)), c.crc64nvme(d.subarray(100)), d.length - 100))]));
    })`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, RANGEPOOL_NO_NATIVE: '1' }, encoding: 'utf8' }));
    rmSync(dirname(file), { recursive: true });
    expect(out).toEqual([crc32c(data), crc32c(data), String(crc64nvme(data)), String(crc64nvme(data))]);
  });
});
