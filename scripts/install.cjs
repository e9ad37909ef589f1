// npm's install step: the prebuild when one loads, else a compile (node-gyp), else the JavaScript pool.
// An install never fails for want of a compiler: it says in one line what happened and how to get the
// native pool, and exits 0. At run time BufferPool.fallbackReason and one process warning say it again.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
try {
  require('node-gyp-build')(root); // a prebuild (or an earlier build) for this platform loads
  process.exit(0);
} catch {}

// node-gyp-build's own command: compiles with node-gyp (npm provides it during installs).
const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (r.status === 0) process.exit(0);
const output = `${r.stderr ?? ''}\n${r.stdout ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
const why =
  output
    .split('\n')
    .map((l) => l.replace(/^gyp ERR!\s*/, '').trim())
    .find((l) => /python|make|compiler|g\+\+|c\+\+|not found|ENOENT/i.test(l)) ?? `the compile failed (exit ${r.status})`;
process.stderr.write(
  `rangepool: no prebuilt addon for ${process.platform}-${process.arch}, and it could not be compiled (${why}); ` +
    'the JavaScript pool is used instead (the same API). For the native pool: install Python 3, make and a C++17 compiler, then run npm rebuild rangepool\n',
);
