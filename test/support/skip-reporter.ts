// Lists every skipped test at the end of a run, by its full name: each skip carries its reason in its name
// (what is missing and how to get it), and the default reporter only shows skipped names when verbose.
import type { Reporter, TestModule } from 'vitest/node';

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const skipped = modules.flatMap((m) => [...m.children.allTests('skipped')].map((t) => `${m.moduleId.replace(`${process.cwd()}/`, '')} > ${t.fullName}`));
    if (skipped.length === 0) return;
    process.stdout.write(`\n${skipped.length} skipped:\n${skipped.map((s) => `  - ${s}\n`).join('')}`);
  }
}
