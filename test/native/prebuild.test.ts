// The committed prebuild must be built from the committed native sources, and must be what loads.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const root = new URL('../..', import.meta.url).pathname;
const { nativeSourceHash } = require('../../scripts/native-hash.cjs');
const expected: string = nativeSourceHash();

describe('prebuilds', () => {
  it(`prebuilds/${process.platform}-${process.arch} matches native/ and binding.gyp (else: npm run prebuildify)`, () => {
    const prebuild = require(`../../prebuilds/${process.platform}-${process.arch}/rangepool.node`);
    expect(prebuild.sourceHash).toBe(expected);
  });

  it('with PREBUILDS_ONLY=1 the package loads the prebuild and uses the native pool', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('rangepool'); console.log(JSON.stringify({ native: new m.BufferPool().native, reason: m.BufferPool.fallbackReason }))"],
      { cwd: root, env: { ...process.env, PREBUILDS_ONLY: '1' }, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ native: true });
  });

  it('whatever binary node-gyp-build picks here (a local build/ wins) matches the sources too', () => {
    const binding = require('node-gyp-build')(root);
    expect(binding.sourceHash).toBe(expected);
  });
});
