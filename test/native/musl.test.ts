// The linux-x64 musl prebuild, loaded by musl itself. No Node for musl can be had here, so a small C
// program built with musl-gcc stands in for it: it defines every Node-API function the addon imports (as
// stubs that are never called) and dlopen()s the addon with RTLD_NOW. That loads only if every C library
// symbol the addon needs exists in musl, and runs the addon's static constructors (the CRC tables and
// CPU detection) on musl. Needs Debian's musl-tools and binutils; skipped, saying so, without them.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const addon = `${root}prebuilds/linux-x64/rangepool.musl.node`;
const works = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const why = process.platform !== 'linux' || process.arch !== 'x64' ? 'not a linux-x64 host' : !works('musl-gcc') || !works('nm') ? 'apt-get install musl-tools binutils' : undefined;
const dir = mkdtempSync(join(tmpdir(), 'rangepool-musl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('linux-x64 musl prebuild', () => {
  it.skipIf(why)(`loads under musl's own dynamic loader with every symbol bound${why ? ` (skipped: ${why})` : ''}`, () => {
    const imports = execFileSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/).at(-1) ?? '')
      .filter((s) => /^(napi|node_api)_/.test(s));
    expect(imports).toContain('napi_create_external_arraybuffer');
    writeFileSync(
      join(dir, 'host.c'),
      [
        '#include <dlfcn.h>',
        '#include <stdio.h>',
        '#include <stdlib.h>',
        ...imports.map((s) => `void ${s}(void) { abort(); }`),
        'int main(int argc, char** argv) {',
        '  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);',
        '  if (!h) { printf("dlopen: %s\\n", dlerror()); return 1; }',
        '  printf("entry point: %s\\n", dlsym(h, "napi_register_module_v1") ? "found" : "missing");',
        '  return 0;',
        '}',
      ].join('\n'),
    );
    execFileSync('musl-gcc', ['-rdynamic', '-o', join(dir, 'host'), join(dir, 'host.c')]);
    const r = spawnSync(join(dir, 'host'), [addon], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('entry point: found\n');
    expect(r.status).toBe(0);
  });
});
