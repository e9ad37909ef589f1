// A command-line argument as a URI: a plain local path (./data/x.bin, /mnt/d, ~ expanded by the shell)
// is file:// of its absolute path, as aws-cli, s5cmd and rclone take local paths.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `arg` as a URI; with `prefix`, a local directory gets its trailing slash (a prefix to list). */
export function toUri(arg: string, prefix = false): string {
  if (HAS_SCHEME.test(arg)) return arg;
  let path = resolve(arg);
  if (prefix && !path.endsWith('/')) {
    try {
      if (arg.endsWith('/') || statSync(path).isDirectory()) path += '/';
    } catch {
      /* not there: listed as it is, and reported as missing */
    }
  }
  return `file://${path.replace(/%/g, '%25')}`;
}
