// A stand-in for Node where no Node for a C library can be had: a C program that defines every Node-API
// function an addon imports (stubs, never called) and dlopen()s the addon with RTLD_NOW. It loads only if
// every C library symbol and version the addon needs is there, and it runs the addon's static
// constructors. Built with that C library's own compiler, run by its own dynamic loader.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { npmFetch, wholeDir } = require('../../scripts/npm-fetch.cjs');

/**
 * Why arm64 programs cannot run here, or false when they can: through qemu-user registered with
 * binfmt_misc (so their forks run too).
 */
export function noQemuArm64(): string | false {
  const entry = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  const on = existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled');
  return !on && 'qemu-user is not registered for arm64 binaries (apt-get install qemu-user binfmt-support)';
}

/** What the host prints when the addon loaded. */
export const LOADED = 'entry point: found\n';

/** The host's C source for this addon (its Node-API imports read with binutils' nm). */
export function hostSource(addon: string): string {
  const imports = execFileSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/).at(-1) ?? '')
    .filter((s) => /^(napi|node_api)_/.test(s));
  if (!imports.includes('napi_create_external_arraybuffer')) throw new Error(`${addon} does not look like this addon: ${imports.length} Node-API imports`);
  return [
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
  ].join('\n');
}

/**
 * A GCC 4.8 toolchain with a glibc 2.17 sysroot (CentOS 7's), for x86_64 or aarch64 targets on a
 * linux-x64 host: napi-rs publishes them on the npm registry. Fetched into .cache/ and unpacked once.
 */
export function glibc217Toolchain(root: string, arch: 'x86_64' | 'aarch64'): { gcc: string; sysroot: string } {
  const spec = arch === 'x86_64' ? '@napi-rs/cross-toolchain-x64-target-x86_64@1.0.0' : '@napi-rs/cross-toolchain-x64-target-aarch64@1.0.3';
  const pkg = npmFetch(spec, `${root}.cache`);
  const triple = `${arch}-unknown-linux-gnu`;
  const gcc = `${pkg}/toolchain/bin/${triple}-gcc`;
  if (!existsSync(gcc)) {
    wholeDir(`${pkg}/toolchain`, (work: string) => {
      execFileSync('tar', ['xJf', `${pkg}/${triple}.tar.xz`, '-C', work]);
      return work;
    });
  }
  return { gcc, sysroot: `${pkg}/toolchain/${triple}/sysroot` };
}
