// Where `rangepool get` writes. A regular file (or a new one) is replaced atomically through a temporary
// file created exclusively, with a random name, beside it (a planted symlink at a guessable name cannot
// redirect the write); a symlink is followed, never replaced; a device, FIFO or socket is written in place
// (as curl -o and cp do); the temporary file is removed on every way out, SIGINT and SIGTERM included.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { invalidArgument } from '../errors.js';

/** The output name for a key when -o is not given: a plain file name, or a usage error. */
export function defaultOutputName(key: string): string {
  const name = basename(key.split('?')[0]!);
  if (name === '' || name === '.' || name === '..' || key.endsWith('/')) {
    throw invalidArgument(`cannot name the output after the key ${JSON.stringify(key)}: give -o FILE`);
  }
  return name;
}

export async function writeOutput(path: string, data: Uint8Array): Promise<void> {
  const link = await lstat(path).catch(() => undefined);
  const target = link?.isSymbolicLink() ? await realpath(path).catch(() => path) : path;
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw invalidArgument(`${path} is a directory`);
  if (existing && !existing.isFile()) return writeInPlace(target, data);
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}.rangepool-tmp`);
  const cleanup = () => unlink(tmp).catch(() => {});
  const onSignal = (sig: NodeJS.Signals) => {
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // O_EXCL: fails rather than follow anything already at that name. The final file keeps an existing file's mode.
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), existing ? existing.mode & 0o7777 : 0o666);
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Devices, FIFOs and sockets are written to, never replaced by a regular file. */
async function writeInPlace(path: string, data: Uint8Array): Promise<void> {
  const fh = await open(path, constants.O_WRONLY);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}
