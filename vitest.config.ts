import { defineConfig } from 'vitest/config';

/** The test files that read ranges over HTTP: they run a second time with every engine on range threads. */
const OVER_HTTP = [
  'test/engine.test.ts',
  'test/faults.test.ts',
  'test/hardening.test.ts',
  'test/load.test.ts',
  'test/many.test.ts',
  'test/ranges.test.ts',
  'test/rate-limit.test.ts',
  'test/shaped-network.test.ts',
  'test/stream.test.ts',
  'test/http/range-reader.test.ts',
  'test/http/segmentation.test.ts',
  'test/http/tls.test.ts',
  'test/http/native-tls.test.ts',
  'test/http/nginx-tls.test.ts',
  'test/stores/azure.test.ts',
  'test/stores/gcs.test.ts',
  'test/stores/s3rver.test.ts',
  'test/stores/url.test.ts',
];

/** Plain HTTP body paths: read by Node by default, again by the addon in the native-http project. */
const OVER_PLAIN = ['test/http/native-plain.test.ts', 'test/http/range-reader.test.ts', 'test/http/segmentation.test.ts', 'test/faults.test.ts', 'test/landing.test.ts', 'test/rate-limit.test.ts'];

/** The test files that read over HTTPS. */
const OVER_TLS = ['test/http/tls.test.ts', 'test/http/native-tls.test.ts', 'test/http/nginx-tls.test.ts'];

export default defineConfig({
  test: {
    reporters: ['default', './test/support/skip-reporter.ts'],
    // Separate processes: native memory, GC and teardown tests must not share a heap with each other.
    pool: 'forks',
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores shared with the servers under test.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'] } },
      // Engines default to RANGEPOOL_THREADS: every range of these files is read on two range threads.
      { extends: true, test: { name: 'threads', include: OVER_HTTP, env: { RANGEPOOL_THREADS: '2' } } },
      // HTTPS bodies are decrypted by the addon's TLS reader by default: these run again on Node's TLS.
      { extends: true, test: { name: 'node-tls', include: OVER_TLS, env: { RANGEPOOL_NATIVE_TLS: '0' } } },
      // Plain HTTP bodies read by the addon's I/O threads (opt-in, RANGEPOOL_NATIVE_HTTP=1): these again so.
      { extends: true, test: { name: 'native-http', include: OVER_PLAIN, env: { RANGEPOOL_NATIVE_HTTP: '1' } } },
    ],
  },
});
