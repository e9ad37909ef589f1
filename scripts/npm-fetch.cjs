// Fetches a package's tarball from the npm registry with `npm pack` and unpacks it under `dir` (in
// .cache/, git-ignored), without installing it: for tools and binaries of another platform, which npm
// install would refuse or put on PATH. Returns the unpacked package's directory; a second call is free.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, renameSync, rmSync } = require('node:fs');
const { join } = require('node:path');

/** Where npmFetch(spec, dir) unpacks, and whether it has. */
function fetched(spec, dir) {
  const at = join(dir, spec.replace(/[/@]/g, '_'));
  return { at, done: existsSync(join(at, 'package.json')) };
}

/**
 * Makes the directory `target` whole or not at all: `fill(work)` builds it in an empty scratch directory
 * beside it and returns the path to move into place (`work` itself or a directory inside it).
 */
function wholeDir(target, fill) {
  const work = `${target}.partial`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const made = fill(work);
  rmSync(target, { recursive: true, force: true });
  renameSync(made, target);
  rmSync(work, { recursive: true, force: true });
  return target;
}

function npmFetch(spec, dir) {
  const { at, done } = fetched(spec, dir);
  if (done) return at;
  return wholeDir(at, (work) => {
    execFileSync('npm', ['pack', '--silent', spec], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['xzf', tgz], { cwd: work });
    return join(work, 'package');
  });
}

module.exports = { fetched, npmFetch, wholeDir };
