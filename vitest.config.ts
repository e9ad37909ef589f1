import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/skip-reporter.ts'],
    // Separate processes: native memory, GC and teardown tests must not share a heap with each other.
    pool: 'forks',
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores shared with the servers under test.
    maxWorkers: 2,
  },
});
