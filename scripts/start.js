'use strict';
// `npm start`: compile with SWC only when dist/ is stale, then run the service in this same process, so the
// SIGINT or SIGTERM that stops `npm start` reaches the service itself and no second process holds the port.
// package.json starts this with `exec` (npm's shell makes way for node) and `--liftoff-only`: V8's optimizing
// WebAssembly tier kept ~400 MB of code for the embedded PostgreSQL on Node.js 24 (about 130 MB with the baseline
// compiler alone, which also starts it faster; the embedded demo's queries are small).
// `--max-semi-space-size=2` caps V8's young generation lower than `npm run start:prod` (4): the first embedded start's
// process tree stays under 400 MB, and the demo's load is light (docs/performance.md, "Memory").
// The compiler runs in a child process: SWC's ~50 MB would otherwise stay with the service for its whole life.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

if (!require('./build.js').isFresh()) execFileSync(process.execPath, [join(__dirname, 'build.js'), '--if-stale'], { stdio: 'inherit' });
require('../dist/src/main.js');
