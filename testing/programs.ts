// Finding the programs the benchmark and the tests run beside rangepool (nginx, curl, aria2c, ...).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable `name` on PATH (then in `extraDirs`) that `accept` takes, or undefined. */
export function findProgram(name: string, extraDirs: string[] = [], accept: (path: string) => boolean = () => true, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter), ...extraDirs]) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile() && accept(file)) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
