// Prints a hash of everything that decides the native binary: the sources in native/ and binding.gyp.
// binding.gyp embeds it in the addon, and a test compares the committed prebuild's hash with a fresh one.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

function nativeSourceHash(root = join(__dirname, '..')) {
  const files = readdirSync(join(root, 'native')).sort().map((f) => join('native', f));
  const hash = createHash('sha256');
  for (const file of [...files, 'binding.gyp']) {
    // Normalise line endings so a checkout with CRLF hashes the same.
    hash.update(file).update('\0').update(readFileSync(join(root, file), 'utf8').replace(/\r\n/g, '\n')).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Whether the binary at `file` embeds `hash` (read as bytes, so it works for binaries this host cannot load). */
function embedsHash(file, hash) {
  try {
    return readFileSync(file).includes(Buffer.from(hash));
  } catch {
    return false;
  }
}

module.exports = { embedsHash, nativeSourceHash };
if (require.main === module) process.stdout.write(nativeSourceHash());
