// Where `rangepool get` writes one object: -o FILE, -o DIR (an existing directory, or a name ending in
// '/': the object goes inside under its key's base name, as aws s3 cp and cp do), or the base name here.
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { invalidArgument } from '../errors.js';

/** The output name for a key (a path: see keyPath) when -o is not given: a plain file name, or a usage error. */
export function defaultOutputName(key: string): string {
  const name = basename(key);
  if (name === '' || name === '.' || name === '..' || key.endsWith('/')) {
    throw invalidArgument(`cannot name the output after the key ${JSON.stringify(key)}: give -o FILE`);
  }
  return name;
}

/** The file for `key` given -o (or not), and whether its directory is to be made ('-o new-dir/'). */
export function outputFor(key: string, output: string | undefined): { path: string; createDirs: boolean } {
  if (output === undefined) return { path: defaultOutputName(key), createDirs: false };
  if (output === '-') return { path: output, createDirs: false };
  const isDir = output.endsWith('/') || (() => {
    try {
      return statSync(output).isDirectory();
    } catch {
      return false;
    }
  })();
  return isDir ? { path: join(output, defaultOutputName(key)), createDirs: true } : { path: output, createDirs: false };
}
