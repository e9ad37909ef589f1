#!/usr/bin/env node
// The installed `rangepool` command. V8's compiled code for the command line and all it loads is kept
// between runs (Node 22.8+, module.enableCompileCache; nothing before): a fresh process otherwise compiles
// the same code on every run. The command line itself (main.ts) is loaded only after, so the cache covers it.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./main.js');
