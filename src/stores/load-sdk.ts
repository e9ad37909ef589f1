import { RangepoolError } from '../errors.js';

/** Cloud SDKs load on first use, so a user of one scheme never loads the others. */
export async function loadSdk<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new RangepoolError('Unsupported', `this scheme needs the package ${name}: npm install ${name}`, { cause: e });
    }
    throw e;
  }
}
