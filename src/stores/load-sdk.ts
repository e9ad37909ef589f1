import { RangepoolError } from '../errors.js';

/** The packages each SDK-backed scheme needs, all named at once when any is missing. */
const PACKAGES: Record<string, readonly string[]> = {
  s3: ['@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner', '@smithy/node-http-handler'],
  gs: ['@google-cloud/storage'],
  az: ['@azure/storage-blob'],
};

/** Which of `names` cannot be resolved from here. */
function missing(names: readonly string[]): string[] {
  if (typeof import.meta.resolve !== 'function') return []; // a loader without it: only the one that failed is named
  return names.filter((n) => {
    try {
      import.meta.resolve(n);
      return false;
    } catch {
      return true;
    }
  });
}

/** Cloud SDKs load on first use, so a user of one scheme never loads the others. */
export async function loadSdk<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      const group = Object.values(PACKAGES).find((g) => g.includes(name)) ?? [name];
      const absent = missing(group);
      const all = absent.includes(name) ? absent : [name, ...absent];
      throw new RangepoolError('Unsupported', `this scheme needs ${all.length > 1 ? 'the packages' : 'the package'} ${all.join(', ')}: npm install ${all.join(' ')}`, { cause: e });
    }
    throw e;
  }
}
