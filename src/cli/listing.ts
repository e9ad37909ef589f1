// `rangepool ls`: as aws s3 ls shows a prefix, each folder once (PRE name/) and the objects directly
// under it with their time and a human size, then a total; with --recursive every key below the prefix.
import { printable } from '../errors.js';
import { relativeKey } from '../files/paths.js';
import type { ListEntry } from '../stores/store.js';
import { formatSize } from './sizes.js';

export async function listGrouped(entries: AsyncIterable<ListEntry>, prefix: string, recursive: boolean, out: (line: string) => void): Promise<void> {
  const folders = new Set<string>();
  let objects = 0;
  let bytes = 0;
  for await (const e of entries) {
    objects++;
    bytes += e.size;
    const rest = relativeKey(prefix, e.key);
    const slash = rest.indexOf('/');
    if (!recursive && slash >= 0 && slash < rest.length - 1) {
      const folder = rest.slice(0, slash + 1);
      if (!folders.has(folder)) out(`${'PRE'.padStart(30)} ${printable(folder)}`);
      folders.add(folder);
      continue;
    }
    const when = e.lastModified ? e.lastModified.toISOString().replace('T', ' ').slice(0, 19) : ''.padEnd(19);
    out(`${when} ${formatSize(e.size).padStart(10)} ${printable(recursive ? e.key : rest)}`); // keys come from the server
  }
  out(`total: ${objects} object${objects === 1 ? '' : 's'}, ${formatSize(bytes)}${folders.size ? ` (${folders.size} folder${folders.size === 1 ? '' : 's'})` : ''}`);
}
