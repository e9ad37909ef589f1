// `rangepool ls`: as aws s3 ls shows a prefix: one level, listed with a delimiter (so a folder of a million
// keys costs one entry, not a thousand pages), each folder once as PRE name/ and the objects directly under
// it with their time and a human size, then a total of what is shown; with --recursive every key below.
import { printable } from '../errors.js';
import { relativeKey } from '../files/paths.js';
import type { ListEntry } from '../stores/store.js';
import { formatSize } from './sizes.js';

export async function listGrouped(entries: AsyncIterable<ListEntry>, prefix: string, recursive: boolean, out: (line: string) => void): Promise<void> {
  const folders = new Set<string>();
  let objects = 0;
  let bytes = 0;
  for await (const e of entries) {
    const rest = relativeKey(prefix, e.key);
    // A folder: as the service grouped it, or (a server that ignores the delimiter) a key below one.
    const slash = rest.indexOf('/');
    if (e.folder || (!recursive && slash >= 0 && slash < rest.length - 1)) {
      const folder = rest.slice(0, slash + 1);
      if (!folders.has(folder)) out(`${'PRE'.padStart(30)} ${printable(folder)}`); // keys come from the server
      folders.add(folder);
      continue;
    }
    // The folder marker of the prefix itself (a 0-byte key "dir/" when listing dir/) is the folder being shown.
    if (!recursive && e.key === prefix && e.key.endsWith('/')) continue;
    objects++;
    bytes += e.size;
    const when = e.lastModified ? e.lastModified.toISOString().replace('T', ' ').slice(0, 19) : ''.padEnd(19);
    out(`${when} ${formatSize(e.size).padStart(10)} ${printable(recursive ? e.key : rest)}`);
  }
  out(`total: ${objects} object${objects === 1 ? '' : 's'}, ${formatSize(bytes)}${folders.size ? ` (${folders.size} folder${folders.size === 1 ? '' : 's'})` : ''}`);
}
