// The shape of the tree: no import cycles in src/ (type-only imports included: a cycle of types is still
// two modules that cannot be understood apart), and layers that point one way: src/ imports none of
// test/, testing/ or bench/; testing/ and test/ never import bench/ (the benchmark depends on the
// shared infrastructure, never the other way round), but for test/bench.test.ts, the harness's own tests.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** Every cycle in the graph, each as the list of modules around it. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'open');
    stack.push(m);
    for (const next of graph.get(m) ?? []) {
      if (state.get(next) === 'open') found.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return found;
}

it('the cycle finder finds a cycle when there is one', () => {
  expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual([['a', 'b', 'c']]);
  expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
});

it('src/ has no import cycles', () => {
  const graph = new Map(modules(src).map((f) => [f, importsOf(f)]));
  expect(cycles(graph).map((c) => c.map((f) => relative(src, f)).join(' → '))).toEqual([]);
});

it('layers point one way: src → nothing outside; test and testing → never bench (but the harness\'s own tests)', () => {
  const crossing = (from: string, banned: string[]) =>
    modules(join(root, from)).flatMap((f) => importsOf(f).filter((to) => banned.some((b) => to.startsWith(join(root, b) + '/'))).map((to) => `${relative(root, f)} → ${relative(root, to)}`));
  expect(crossing('src', ['test', 'testing', 'bench'])).toEqual([]);
  expect(crossing('testing', ['test', 'bench'])).toEqual([]);
  expect(crossing('test', ['bench']).filter((c) => !c.startsWith('test/bench.test.ts → '))).toEqual([]);
});
