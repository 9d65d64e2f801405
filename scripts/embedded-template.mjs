// `npm run embedded:template`: makes the pristine data directory the embedded mode starts from (assets/embedded-postgres),
// with the installed PGlite and the embedded settings. Run it after upgrading @electric-sql/pglite or changing those
// settings: until then a new embedded data directory is made by initdb, which takes more memory and time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { EMBEDDED_SETTINGS, TEMPLATE_DIRECTORY, installedPgliteVersion, packageRoot } = require('../dist/src/database/embedded-data-directory.js');
const { PGlite } = await import('@electric-sql/pglite');

const initDbStartParams = Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
const db = await PGlite.create('memory://', { initDbStartParams });
const archive = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
await db.close();

const directory = join(packageRoot(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist', 'src', 'database')), TEMPLATE_DIRECTORY);
mkdirSync(directory, { recursive: true });
writeFileSync(join(directory, 'data.tar.gz'), archive);
writeFileSync(join(directory, 'template.json'), `${JSON.stringify({ pglite: installedPgliteVersion(), settings: EMBEDDED_SETTINGS }, null, 2)}\n`);
process.stdout.write(`Wrote ${join(TEMPLATE_DIRECTORY, 'data.tar.gz')} (${(archive.length / 1e6).toFixed(1)} MB) for PGlite ${installedPgliteVersion()}\n`);
