// Runs firebase-tools' storage emulator in this process, printing {"port"} once it listens. Its GCS JSON
// API routes skip security rules, so the Java rules runtime (which it would download) is stubbed out.
'use strict';
const lib = require('node:path').dirname(require.resolve('firebase-tools/package.json')) + '/lib/emulator';
const { StorageRulesRuntime } = require(`${lib}/storage/rules/runtime.js`);
const { StorageEmulator } = require(`${lib}/storage/index.js`);
const { EmulatorRegistry } = require(`${lib}/registry.js`);

StorageRulesRuntime.prototype.start = async function () {};
StorageRulesRuntime.prototype.stop = async function () {};
StorageRulesRuntime.prototype.loadRuleset = async function () {
  // Only the Firebase API routes consult it; the GCS JSON API routes the tests use never do.
  return { ruleset: {}, issues: { errors: [], warnings: [], all: [] } };
};

const port = Number(process.argv[2]);
const emulator = new StorageEmulator({
  projectId: 'demo-test',
  host: '127.0.0.1',
  port,
  rules: { name: '/dev/null', content: '' },
  auto_download: false,
});
EmulatorRegistry.start(emulator).then(
  () => console.log(JSON.stringify({ port })),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
process.once('SIGTERM', () => process.exit(0));
