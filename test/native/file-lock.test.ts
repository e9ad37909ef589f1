// The addon's tryLockFile (native/file_lock.cc): what tells a download whether a temporary file's writer
// still runs. Two opens of one file conflict, in one process too; close releases; a dead holder's lock is
// gone (the kernel's doing, checked through a child killed with SIGKILL); a bad fd is an errno, not a throw.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binding } from '../../src/native.js';

const dir = mkdtempSync(join(tmpdir(), 'rangepool-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!binding || process.platform === 'win32')('tryLockFile', () => {
  it('takes the lock once per file: a second open, in this process too, is refused until the first closes', () => {
    const path = join(dir, 'a');
    writeFileSync(path, '');
    const a = openSync(path, 'r+');
    const b = openSync(path, 'r+');
    expect(binding!.tryLockFile(a)).toBe(1);
    expect(binding!.tryLockFile(a)).toBe(1); // the holder again
    expect(binding!.tryLockFile(b)).toBe(0);
    closeSync(a);
    expect(binding!.tryLockFile(b)).toBe(1);
    closeSync(b);
  });

  it('a bad descriptor is a negative errno', () => {
    expect(binding!.tryLockFile(1 << 20)).toBeLessThan(0);
    expect(() => (binding!.tryLockFile as (fd: unknown) => number)('x')).toThrow(TypeError);
  });

  it('a holder killed with SIGKILL leaves no lock behind (the kernel drops it)', async () => {
    const path = join(dir, 'b');
    writeFileSync(path, '');
    // A node child takes the lock through the addon, says so, and is killed (no fork that could share it).
    const addon = JSON.stringify(new URL('../../src/native.ts', import.meta.url).pathname);
    const script = `import(${addon}).then(({ binding }) => { const fd = require('fs').openSync(${JSON.stringify(path)}, 'r+'); console.log(binding.tryLockFile(fd)); setInterval(() => {}, 1000); })`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((r) => child.stdout!.once('data', (d: Buffer) => r(d.toString().trim())));
    expect(said).toBe('1');
    const held = openSync(path, 'r+');
    expect(binding!.tryLockFile(held)).toBe(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(binding!.tryLockFile(held)).toBe(1);
    closeSync(held);
  });
});

describe.runIf(binding && process.platform === 'win32')('tryLockFile on Windows', () => {
  it('has no flock to take (a negative errno): the pid rules of part-file.ts apply there', () => {
    const path = join(dir, 'w');
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    expect(binding!.tryLockFile(fd)).toBeLessThan(0);
    closeSync(fd);
  });
});
