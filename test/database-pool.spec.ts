import { Client } from 'pg';
import { loadConfig } from '../src/config/app-config';
import { closeDatabase, Database, openDatabase } from '../src/database/data-source.factory';
import { waitFor } from './support/private-redis';
import { databaseUrl, workerDatabaseName } from './support/test-env';

/** DATABASE_POOL_IDLE_SECONDS against a real PostgreSQL: whether the server's backends of an unused pool go or stay. */
describe('the pool of PostgreSQL connections', () => {
  const url = databaseUrl(workerDatabaseName());
  let database: Database | undefined;
  let observer: Client;

  beforeAll(async () => {
    observer = new Client({ connectionString: url });
    await observer.connect();
  });
  afterAll(() => observer.end());
  afterEach(async () => {
    if (database) await closeDatabase(database);
    database = undefined;
  });

  /** Opens the service's database with these settings and has three connections each run a query at once. */
  const openWithThreeBackends = async (idleSeconds: string) => {
    database = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_IDLE_SECONDS: idleSeconds } as NodeJS.ProcessEnv));
    const rows = await Promise.all([0, 1, 2].map(() => database!.dataSource.query(`SELECT pg_backend_pid() AS pid, pg_sleep(0.2)`)));
    const pids = rows.map((result: { pid: number }[]) => result[0].pid);
    expect(new Set(pids).size).toBe(3);
    return pids;
  };
  const liveBackends = async (pids: number[]) => Number((await observer.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)`, [pids])).rows[0].n);
  const poolSize = () => (database!.dataSource.driver as unknown as { master: { totalCount: number } }).master.totalCount;

  it('closes connections left unused for DATABASE_POOL_IDLE_SECONDS, ending their backends', async () => {
    const pids = await openWithThreeBackends('1');
    expect(await liveBackends(pids)).toBe(3);
    await waitFor(async () => poolSize() === 0 && (await liveBackends(pids)) === 0, 'the idle connections to close', 5_000);
  });

  it('keeps unused connections open with 0', async () => {
    const pids = await openWithThreeBackends('0');
    // Longer than the 1 s above took to close them.
    await new Promise((done) => setTimeout(done, 1_500));
    expect(poolSize()).toBe(3);
    expect(await liveBackends(pids)).toBe(3);
  });
});
