import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  EMBEDDED_POSTGRESQL_CONF,
  EMBEDDED_SETTINGS,
  extractDataDirectory,
  initdbInChild,
  installedPgliteVersion,
  prepareEmbeddedDataDirectory,
  TEMPLATE_DIRECTORY,
  usableTemplate,
} from '../src/database/embedded-data-directory';

/** A new embedded data directory: from the template the package ships, or by initdb when none matches the installed PGlite. */
describe('embedded data directory', () => {
  const directories: string[] = [];
  const fresh = () => {
    const directory = mkdtempSync(join(tmpdir(), 'tm-embedded-'));
    directories.push(directory);
    return directory;
  };
  afterAll(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

  /** Opens a data directory as the service does, writes, reopens, reads. */
  async function works(directory: string): Promise<void> {
    const db = await PGlite.create(directory, { postgresqlconf: EMBEDDED_POSTGRESQL_CONF });
    const [settings] = (await db.query<{ shared_buffers: string; databases: number }>(`SELECT current_setting('shared_buffers') AS shared_buffers, (SELECT count(*)::int FROM pg_database) AS databases`)).rows;
    expect(settings).toEqual({ shared_buffers: EMBEDDED_SETTINGS.shared_buffers, databases: 3 });
    await db.exec('CREATE TABLE probe (n int); INSERT INTO probe VALUES (7)');
    await db.close();
    const again = await PGlite.create(directory, { postgresqlconf: EMBEDDED_POSTGRESQL_CONF });
    expect((await again.query('SELECT n FROM probe')).rows).toEqual([{ n: 7 }]);
    await again.close();
  }

  it('ships a template made by the installed PGlite with the embedded settings (else run npm run embedded:template)', () => {
    const info = JSON.parse(readFileSync(join(__dirname, '..', TEMPLATE_DIRECTORY, 'template.json'), 'utf8'));
    expect(info).toEqual({ pglite: installedPgliteVersion(), settings: EMBEDDED_SETTINGS });
    expect(usableTemplate()).toBe(join(__dirname, '..', TEMPLATE_DIRECTORY, 'data.tar.gz'));
  });

  it('makes a new data directory from the template: PG_VERSION written, no postmaster.pid, a working database', async () => {
    const directory = fresh();
    await prepareEmbeddedDataDirectory(directory);
    const entries = readdirSync(directory);
    expect(entries).toEqual(expect.arrayContaining(['PG_VERSION', 'base', 'global', 'pg_wal']));
    expect(entries).not.toContain('postmaster.pid');
    await works(directory);
    // An initialized directory is left as it is: nothing is written again.
    writeFileSync(join(directory, 'PG_VERSION'), readFileSync(join(directory, 'PG_VERSION')));
    const stamp = statSync(join(directory, 'PG_VERSION')).mtimeMs;
    await new Promise((done) => setTimeout(done, 20));
    await prepareEmbeddedDataDirectory(directory);
    expect(statSync(join(directory, 'PG_VERSION')).mtimeMs).toBe(stamp);
  }, 60_000);

  it('still makes one by initdb in a child process, for a PGlite the template was not made by', async () => {
    const directory = fresh();
    await initdbInChild(directory);
    await works(directory);
  }, 120_000);

  it('refuses an archive that names a path outside the directory', () => {
    const header = Buffer.alloc(512);
    header.write('../escape', 0, 'latin1');
    header.write('0000644\0', 100, 'latin1');
    header.write('00000000001\0', 124, 'latin1');
    header.write('0', 156, 'latin1');
    const archive = join(fresh(), 'bad.tar.gz');
    writeFileSync(archive, gzipSync(Buffer.concat([header, Buffer.alloc(512, 'x'), Buffer.alloc(1024)])));
    expect(() => extractDataDirectory(archive, fresh())).toThrow('outside');
  });
});
