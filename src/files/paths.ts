// Where an object listed under a prefix goes in a directory: a path no key can make escape it.
import { join, resolve, sep } from 'node:path';
import { invalidArgument, printable } from '../errors.js';

/**
 * The key below the prefix: with a prefix that is not a folder (s3://b/data, as aws s3 cp --recursive
 * takes it), data/x/y is x/y.
 */
export function relativeKey(prefix: string, key: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return prefix !== '' && !prefix.endsWith('/') && rest.startsWith('/') ? rest.slice(1) : rest;
}

/**
 * Where the object `key`, listed under `prefix`, goes in `dir`: the key's path below the prefix. A key
 * whose rest is empty, absolute, or has an empty, '.' or '..' segment (or a backslash or NUL) is
 * refused: it could land outside `dir` or over another object's file.
 */
export function pathUnder(dir: string, prefix: string, key: string): string {
  const rest = relativeKey(prefix, key);
  const segments = rest.split('/');
  if (rest === '' || /[\\\0]/.test(rest) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalidArgument(`the key ${JSON.stringify(printable(key))} has no safe path under ${dir}: it is not written`);
  }
  const path = join(dir, ...segments);
  if (!resolve(path).startsWith(resolve(dir) + sep)) throw invalidArgument(`the key ${JSON.stringify(printable(key))} would leave ${dir}: it is not written`);
  return path;
}
