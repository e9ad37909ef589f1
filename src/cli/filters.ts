// --include / --exclude as aws-cli applies them: every object is included, then each pattern in the order
// given includes or excludes what it matches, the last match deciding. Patterns are fnmatch's, as aws-cli's:
// `*` matches any run of characters, '/' included, `?` one character, `[...]` one of a set (`[!...]` none
// of it). Written here rather than with a glob library: globs stop `*` at '/', which aws users do not expect.

export interface Filter {
  include: boolean;
  pattern: string;
}

function toRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, end);
      const negate = set.startsWith('!');
      if (negate) set = set.slice(1);
      out += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

/** Whether `key` (below the prefix) passes the filters. */
export function filterKeys(filters: readonly Filter[]): (key: string) => boolean {
  const compiled = filters.map((f) => ({ include: f.include, re: toRegExp(f.pattern) }));
  return (key) => compiled.reduce((keep, f) => (f.re.test(key) ? f.include : keep), true);
}

/** The commander parser of --include and --exclude: both add to one list, in the order given. */
const given: Filter[] = [];
export const filterOption = (include: boolean) => (pattern: string) => {
  given.push({ include, pattern });
  return given;
};
