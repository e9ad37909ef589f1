// The name `rangepool get` writes one object to when -o is not given.
import { basename } from 'node:path';
import { invalidArgument } from '../errors.js';

/** The output name for a key when -o is not given: a plain file name, or a usage error. */
export function defaultOutputName(key: string): string {
  const name = basename(key.split('?')[0]!);
  if (name === '' || name === '.' || name === '..' || key.endsWith('/')) {
    throw invalidArgument(`cannot name the output after the key ${JSON.stringify(key)}: give -o FILE`);
  }
  return name;
}
