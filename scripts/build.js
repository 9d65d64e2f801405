'use strict';
// Compiles the TypeScript sources to dist/ with SWC (no type check: `npm run typecheck` and CI do that), and only
// when dist/ was not built from the current sources. Used by `npm run build` (always compiles), `npm start` and
// every operations command (compile only when stale), so nothing on the start path waits for the type checker.
const { createHash } = require('node:crypto');
const { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync, existsSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.source-hash');
const SOURCE_DIRS = ['src', 'migrations', 'bench'];
const SOURCE_FILES = ['ormconfig.ts'];

// Mirrors jest.config.js: the app is CommonJS; dynamic import() stays a real import() so ESM-only packages
// (PGlite) load as they do under tsc's nodenext output.
const SWC_OPTIONS = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
    target: 'es2022',
  },
  module: { type: 'commonjs', ignoreDynamic: true },
  sourceMaps: true,
  swcrc: false,
};

function walk(directory, files = []) {
  if (!existsSync(directory)) return files;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) walk(path, files);
    else if (!entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Every file the build reads: TypeScript to compile and, under src/, assets copied as they are. */
function inputs() {
  const files = SOURCE_DIRS.flatMap((directory) => walk(join(ROOT, directory)))
    .concat(SOURCE_FILES.map((file) => join(ROOT, file)))
    .filter((file) => file.endsWith('.ts') || relative(ROOT, file).startsWith(`src${sep}`));
  return files.sort();
}

/** A hash of what dist/ is built from: the sources, this script's settings and the compiler version. */
function sourceHash(files = inputs()) {
  const hash = createHash('sha256');
  hash.update(readFileSync(__filename));
  for (const file of files) {
    hash.update(relative(ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function isFresh(hash = sourceHash()) {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash;
}

function build() {
  const started = Date.now();
  const swc = require('@swc/core');
  const files = inputs();
  const hash = sourceHash(files);
  rmSync(DIST, { recursive: true, force: true });
  let compiled = 0;
  for (const file of files) {
    const target = join(DIST, relative(ROOT, file));
    mkdirSync(dirname(target), { recursive: true });
    if (!file.endsWith('.ts')) {
      copyFileSync(file, target);
      continue;
    }
    const output = swc.transformFileSync(file, { ...SWC_OPTIONS, filename: file, sourceFileName: relative(dirname(target), file) });
    const js = target.replace(/\.ts$/, '.js');
    writeFileSync(js, `${output.code}\n//# sourceMappingURL=${js.split(/[\\/]/).pop()}.map\n`);
    if (output.map) writeFileSync(`${js}.map`, output.map);
    compiled++;
  }
  // `node dist/main` is the documented production entry point.
  writeFileSync(join(DIST, 'main.js'), "require('./src/main.js');\n");
  writeFileSync(STAMP, `${hash}\n`);
  return { compiled, ms: Date.now() - started };
}

/** Builds only when dist/ is missing or was built from other sources; says so on stderr when it compiles. */
function ensureBuilt() {
  if (isFresh()) return false;
  process.stderr.write('Compiling the sources with SWC (dist/ is missing or older than the sources)…\n');
  const { compiled, ms } = build();
  process.stderr.write(`Compiled ${compiled} files in ${(ms / 1000).toFixed(1)} s\n`);
  return true;
}

module.exports = { build, ensureBuilt, isFresh, sourceHash };

if (require.main === module) {
  if (process.argv.includes('--if-stale')) ensureBuilt();
  else {
    const { compiled, ms } = build();
    process.stdout.write(`Compiled ${compiled} files to dist/ in ${(ms / 1000).toFixed(1)} s\n`);
  }
}
