// Where an object listed under a prefix goes in a directory: a path no key can make escape it.
import { join, resolve, sep } from 'node:path';
import { invalidArgument, printable } from '../errors.js';

/**
 * A listed key's name below the prefix it was listed under: what follows the prefix's last slash. So a
 * folder prefix (data/) gives x/y for data/x/y, and `ls` of a partial prefix (s3://b/dat, as aws s3 ls)
 * names data/x as data/x. getMany() lists a prefix without a slash as the folder (data → data/).
 */
export function relativeKey(prefix: string, key: string): string {
  return key.slice(prefix.lastIndexOf('/') + 1);
}

/** A prefix as the folder it names: s3://b/data is s3://b/data/ (as aws s3 cp --recursive takes it); '' stays the whole bucket. */
export function asFolder(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

/**
 * Where the object `key`, listed under `prefix`, goes in `dir`: the key's path below the prefix. A key
 * whose rest is empty, absolute, or has an empty, '.' or '..' segment (or a backslash or NUL) is
 * refused: it could land outside `dir` or over another object's file.
 */
export function pathUnder(dir: string, prefix: string, key: string): string {
  if (!key.startsWith(prefix)) throw invalidArgument(`the key ${JSON.stringify(printable(key))} is not under the prefix listed: it is not written`);
  const rest = relativeKey(prefix, key);
  const segments = rest.split('/');
  if (rest === '' || /[\\\0]/.test(rest) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalidArgument(`the key ${JSON.stringify(printable(key))} has no safe path under ${dir}: it is not written`);
  }
  const path = join(dir, ...segments);
  if (!resolve(path).startsWith(resolve(dir) + sep)) throw invalidArgument(`the key ${JSON.stringify(printable(key))} would leave ${dir}: it is not written`);
  return path;
}
