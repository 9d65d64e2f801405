import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

// Node.js built-ins only: main.ts calls this before the application's modules load, so that the service process is
// still small while the initdb child runs.

/**
 * PGlite's defaults reserve 160 MB of shared buffers; the embedded mode serves one organization's dashboards and keeps
 * the whole process tree under 400 MB resident.
 */
const EMBEDDED_SETTINGS = { shared_buffers: '16MB', wal_buffers: '1MB' };

export const EMBEDDED_POSTGRESQL_CONF = Object.entries(EMBEDDED_SETTINGS)
  .map(([name, value]) => `${name} = ${value}`)
  .join('\n');

/**
 * The child process that creates a new data directory (ESM, run with `node -e`). PGlite's initdb runs PostgreSQL in a
 * second instance and, before each of its steps, copies that instance's 128 MB heap and writes it back whole, which
 * makes every page resident (the child used to peak at about 700 MB). The two whole-buffer operations patched here give
 * the same bytes but copy only the 64 KB blocks that differ, so pages nobody wrote stay unallocated. initdb runs in
 * memory and the files are then written out (PG_VERSION last: it marks a data directory as initialized), so no tarball
 * copy of the directory is held either; the child peaks at about 220 MB.
 */
const INITDB_CHILD = `
const BLOCK = 64 * 1024;
const LARGE = 32 * 1024 * 1024;
const ZERO = new Uint8Array(BLOCK);
const { slice, set } = Uint8Array.prototype;
const same = (a, aAt, b, bAt, length) =>
  Buffer.from(a.buffer, a.byteOffset + aAt, length).equals(Buffer.from(b.buffer, b.byteOffset + bAt, length));
Uint8Array.prototype.slice = function (...args) {
  if (args.length > 0 || this.constructor !== Uint8Array || this.length < LARGE) return slice.apply(this, args);
  const copy = new Uint8Array(this.length);
  for (let at = 0; at < this.length; at += BLOCK) {
    const length = Math.min(BLOCK, this.length - at);
    if (!same(this, at, ZERO, 0, length)) set.call(copy, this.subarray(at, at + length), at);
  }
  return copy;
};
Uint8Array.prototype.set = function (source, offset = 0) {
  const plain = !(source instanceof Uint8Array) || source.length < LARGE || source.buffer === this.buffer;
  if (plain || !Number.isInteger(offset) || offset < 0 || offset + source.length > this.length) return set.call(this, source, offset);
  for (let at = 0; at < source.length; at += BLOCK) {
    const length = Math.min(BLOCK, source.length - at);
    if (!same(this, offset + at, source, at, length)) set.call(this, source.subarray(at, at + length), offset + at);
  }
};

const { closeSync, mkdirSync, openSync, writeSync } = await import('node:fs');
const { join } = await import('node:path');
const { PGlite } = await import(process.env.PGLITE_ENTRY);
// Collect between the phases (initdb's instance closed, the database opened and closed): their garbage is tens of MB.
const close = PGlite.prototype.close;
PGlite.prototype.close = async function () {
  await close.call(this);
  globalThis.gc();
};
const target = process.env.PGLITE_INIT_DIR;
const settings = Object.entries(JSON.parse(process.env.PGLITE_SETTINGS));
const initDbStartParams = settings.flatMap(([name, value]) => ['-c', name + '=' + value]);
// The instance only opens the new database once, to be closed: the smallest buffer pool will do.
const db = await PGlite.create('memory://', { initDbStartParams, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=1MB'] });
const fs = db.Module.FS;
await db.close();
const chunk = new Uint8Array(1024 * 1024);
const copyFile = (from, to) => {
  const source = fs.open(from, 'r');
  const output = openSync(to, 'w', 0o600);
  for (let read; (read = fs.read(source, chunk, 0, chunk.length)) > 0; ) writeSync(output, chunk, 0, read);
  closeSync(output);
  fs.close(source);
};
const copyTree = (from, to) => {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const name of fs.readdir(from)) {
    if (name === '.' || name === '..' || (to === target && name === 'PG_VERSION')) continue;
    if (fs.isDir(fs.stat(from + '/' + name).mode)) copyTree(from + '/' + name, join(to, name));
    else copyFile(from + '/' + name, join(to, name));
  }
};
copyTree('/pglite/data', target);
copyFile('/pglite/data/PG_VERSION', join(target, 'PG_VERSION'));
`;

/**
 * Creates the embedded data directory when it has no database yet. initdb runs in a short-lived child process: PGlite
 * keeps the initdb instance's WebAssembly memory for the life of the process that ran it.
 */
export async function prepareEmbeddedDataDirectory(dataDir: string): Promise<void> {
  if (dataDir.startsWith('memory://')) return;
  mkdirSync(dataDir, { recursive: true });
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const entry = pathToFileURL(join(dirname(require.resolve('@electric-sql/pglite')), 'index.js')).href;
  const env = { ...process.env, PGLITE_ENTRY: entry, PGLITE_INIT_DIR: dataDir, PGLITE_SETTINGS: JSON.stringify(EMBEDDED_SETTINGS) };
  // Liftoff alone, a 1 MB young generation and collections on demand: the child runs once and its peak is what counts.
  const flags = ['--liftoff-only', '--max-semi-space-size=1', '--expose-gc', '--input-type=module', '-e', INITDB_CHILD];
  await promisify(execFile)(process.execPath, flags, { env });
}
