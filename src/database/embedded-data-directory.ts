import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

// Node.js built-ins only: main.ts calls this before the application's modules load, so that the service process is
// still small while the initdb child runs.

/**
 * PGlite's defaults reserve 160 MB of shared buffers; the embedded mode serves one organization's dashboards and keeps
 * the whole process tree under 400 MB resident.
 */
export const EMBEDDED_SETTINGS = { shared_buffers: '16MB', wal_buffers: '1MB' };

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

/** Where the pristine data directory ships (`npm run embedded:template` makes it), relative to the package root. */
export const TEMPLATE_DIRECTORY = join('assets', 'embedded-postgres');

/** What a template was made from: it is used only by the PGlite version and with the settings it was made with. */
export interface TemplateInfo {
  pglite: string;
  settings: Record<string, string>;
}

/** The package root: the nearest directory above this file with the service's package.json (src/ or dist/src/). */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'toolbox-metrics') return dir;
    if (dirname(dir) === dir) throw new Error(`No toolbox-metrics package.json above ${from}`);
  }
}

/** The installed PGlite's version. */
export function installedPgliteVersion(): string {
  const manifest = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The shipped template's archive when it was made by the installed PGlite with today's settings, else null. */
export function usableTemplate(root = packageRoot()): string | null {
  const archive = join(root, TEMPLATE_DIRECTORY, 'data.tar.gz');
  const infoFile = join(root, TEMPLATE_DIRECTORY, 'template.json');
  if (!existsSync(archive) || !existsSync(infoFile)) return null;
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as TemplateInfo;
  const settingsMatch = JSON.stringify(info.settings) === JSON.stringify(EMBEDDED_SETTINGS);
  return info.pglite === installedPgliteVersion() && settingsMatch ? archive : null;
}

/**
 * Writes the files of a gzipped ustar archive (PGlite's dumpDataDir) under target: directories 0700, files 0600,
 * PG_VERSION last (it marks a data directory as initialized), postmaster.pid never (no server runs from it yet).
 */
export function extractDataDirectory(archive: string, target: string): void {
  const tar = gunzipSync(readFileSync(archive));
  const text = (at: number, length: number) => {
    const end = tar.indexOf(0, at);
    return tar.toString('latin1', at, end === -1 || end > at + length ? at + length : end);
  };
  let version: Buffer | null = null;
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = text(at, 100);
    if (name === '') break;
    const prefix = text(at + 345, 155);
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(tar[at + 156]);
    const path = (prefix ? `${prefix}/${name}` : name).replace(/^\/+/, '');
    if (path.split('/').includes('..')) throw new Error(`The data directory template names a path outside it: ${path}`);
    const body = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === '5') mkdirSync(join(target, path), { recursive: true, mode: 0o700 });
    else if (type === '0' || type === '\0') {
      if (path === 'postmaster.pid') continue;
      if (path === 'PG_VERSION') {
        version = Buffer.from(body);
        continue;
      }
      mkdirSync(dirname(join(target, path)), { recursive: true, mode: 0o700 });
      writeFileSync(join(target, path), body, { mode: 0o600 });
    }
  }
  if (!version) throw new Error('The data directory template has no PG_VERSION');
  writeFileSync(join(target, 'PG_VERSION'), version, { mode: 0o600 });
}

/**
 * Creates the embedded data directory when it has no database yet: from the pristine directory the package ships
 * (assets/embedded-postgres, made by the installed PGlite with these settings), which takes a few MB and a fraction of
 * a second; otherwise (another PGlite version) with initdb in a short-lived child process, since PGlite keeps the
 * initdb instance's WebAssembly memory for the life of the process that ran it.
 */
export async function prepareEmbeddedDataDirectory(dataDir: string): Promise<void> {
  if (dataDir.startsWith('memory://')) return;
  mkdirSync(dataDir, { recursive: true });
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const template = usableTemplate();
  if (template) return extractDataDirectory(template, dataDir);
  await initdbInChild(dataDir);
}

/** initdb of a new data directory in a child process (the path when no template matches the installed PGlite). */
export async function initdbInChild(dataDir: string): Promise<void> {
  const entry = pathToFileURL(join(dirname(require.resolve('@electric-sql/pglite')), 'index.js')).href;
  const env = { ...process.env, PGLITE_ENTRY: entry, PGLITE_INIT_DIR: dataDir, PGLITE_SETTINGS: JSON.stringify(EMBEDDED_SETTINGS) };
  // Liftoff alone, a 1 MB young generation and collections on demand: the child runs once and its peak is what counts.
  const flags = ['--liftoff-only', '--max-semi-space-size=1', '--expose-gc', '--input-type=module', '-e', INITDB_CHILD];
  await promisify(execFile)(process.execPath, flags, { env });
}
