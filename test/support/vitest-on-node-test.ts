// Stands in for 'vitest' where vitest itself cannot start: Node's Windows build under Wine (vitest needs the
// host platform's bundler binaries and child-process pipes Wine does not give it). scripts/wine-test.cjs
// bundles a test file with 'vitest' aliased to this module. The tests run on node:test; the assertions are
// vitest's own (@vitest/expect's plugins on chai, as vitest installs them), so a matcher means the same
// here as under vitest.
import { after, describe as nodeDescribe, it as nodeIt } from 'node:test';
import { ASYMMETRIC_MATCHERS_OBJECT, chai, JestAsymmetricMatchers, JestChaiExpect, JestExtend, setState } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type Fn = () => unknown;
type Options = { timeout?: number };

export const expect = Object.assign((value: unknown, message?: string) => chai.expect(value, message), chai.expect) as unknown as typeof import('vitest').expect;
Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT]);
setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null, environment: 'node' }, expect);

/** `name` with %s / %d / %i / %j filled from `args`, as vitest's .each names tests. */
const title = (name: string, args: unknown[]) => {
  let i = 0;
  return name.replace(/%[sdij]/g, () => String(args[i++]));
};
const rows = (table: readonly unknown[]) => table.map((row) => (Array.isArray(row) ? row : [row]));

const test = (name: string, a?: Fn | Options, b?: Fn | Options) => {
  const fn = (typeof a === 'function' ? a : b) as Fn;
  const opts = (typeof a === 'object' ? a : b) as Options | undefined;
  return nodeIt(name, { timeout: opts?.timeout ?? 30_000 }, fn as () => Promise<void>);
};
const skipped = (name: string) => nodeIt(name, { skip: true }, () => {});

export const it = Object.assign(test, {
  skipIf: (cond: unknown) => (cond ? skipped : test),
  runIf: (cond: unknown) => (cond ? test : skipped),
  skip: skipped,
  each:
    (table: readonly unknown[]) =>
    (name: string, fn: (...args: unknown[]) => unknown, opts?: Options) => {
      for (const args of rows(table)) test(title(name, args), () => fn(...args), opts);
    },
});

/** After the file's tests (vitest's afterAll at the top level). */
export const afterAll = (fn: Fn) => after(fn as () => Promise<void>);

const skippedSuite = (name: string, _fn: Fn) => nodeDescribe(name, { skip: true }, () => {});

export const describe = Object.assign((name: string, fn: Fn) => nodeDescribe(name, fn as () => void), {
  skipIf: (cond: unknown) => (cond ? skippedSuite : describe),
  runIf: (cond: unknown) => (cond ? describe : skippedSuite),
  each:
    (table: readonly unknown[]) =>
    (name: string, fn: (...args: unknown[]) => void) => {
      for (const args of rows(table)) nodeDescribe(title(name, args), () => fn(...args));
    },
});
