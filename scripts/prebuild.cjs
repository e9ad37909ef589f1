// `npm run prebuildify`: rebuilds prebuilds/<platform>-<arch> with prebuildify when native/ or binding.gyp
// no longer match the committed binary (or with --force). npm also runs this before `npm run build`,
// so it must cost nothing, and need no compiler, when the prebuild is current.
'use strict';
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const { nativeSourceHash } = require('./native-hash.cjs');

const root = join(__dirname, '..');
const target = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'rangepool.node');

function committedHash() {
  try {
    return require(target).sourceHash;
  } catch {
    return undefined;
  }
}

const want = nativeSourceHash(root);
if (!process.argv.includes('--force') && committedHash() === want) {
  console.log(`prebuild is current (${want})`);
} else {
  const bin = join(root, 'node_modules', '.bin', 'prebuildify');
  execFileSync(bin, ['--napi', '--strip', '--target', process.versions.node], { cwd: root, stdio: 'inherit' });
  // A require() above may have loaded the old binary into this process; ask a fresh one.
  const got = execFileSync(process.execPath, ['-p', `require(${JSON.stringify(target)}).sourceHash`], { encoding: 'utf8' }).trim();
  if (got !== want) throw new Error(`rebuilt prebuild has hash ${got}, expected ${want}`);
  console.log(`prebuild rebuilt (${want})`);
}
