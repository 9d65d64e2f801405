import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../src/database/migrations.js';
import { LIVE_WINDOW_MS } from './ingestion.js';

export interface BenchOrganization {
  organizationId: string;
  slug: string;
  adminId: string;
  /** The admin's e-mail: the login flood tries wrong passwords for it. */
  adminEmail: string;
  /** The admin's token_version: the token the bench signs must carry it. */
  adminTokenVersion: number;
  userIds: string[];
}

/**
 * The bench database: created and migrated when missing, seeded with `seed --profile <seedProfile>` (the profile's
 * data set, fixed seed) when it holds no large organization yet. Seeding runs the built CLI with its progress bar.
 * Returns how long seeding took in seconds, or null when the data was already there.
 */
/** How long seeding the database took, and when: measured by the run that seeded it, kept in the database for later runs. */
export interface Seeding {
  seconds: number;
  seeded_at: string;
  /** Whether this run seeded it (false: an earlier run did, and this one reuses the data set). */
  this_run: boolean;
  /**
   * A reused data set is vacuumed before the run, as the seed leaves a new one: the rows earlier runs updated (users,
   * rollups) are then not still dead on a server without autovacuum. Seconds that took; null when this run seeded.
   */
  vacuumed_before_run_seconds: number | null;
}

export async function prepareBenchDatabase(databaseUrl: string, distDir: string, seedProfile: string): Promise<Seeding | null> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`BENCH_DATABASE_URL names the database "${name}": use letters, digits and underscores`);
  const admin = new Client({ connectionString: Object.assign(new URL(databaseUrl), { pathname: '/postgres' }).toString() });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount === 0) {
    process.stdout.write(`Creating database ${name}\n`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  await admin.end();

  const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl, migrations: MIGRATIONS, migrationsTableName: 'typeorm_migrations' }).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
    const large = await dataSource.query(`SELECT 1 FROM organizations WHERE slug LIKE 'bench-large-%'`);
    if (large.length > 0) {
      const recorded = await dataSource.query(`SELECT seconds, seeded_at FROM bench_seeding WHERE to_regclass('bench_seeding') IS NOT NULL`).catch(() => []);
      const vacuumStarted = Date.now();
      await dataSource.query('VACUUM ANALYZE');
      const vacuumed = (Date.now() - vacuumStarted) / 1000;
      process.stdout.write(`Reused data set vacuumed (VACUUM ANALYZE) in ${vacuumed.toFixed(1)} s\n`);
      return recorded.length > 0
        ? { seconds: Number(recorded[0].seconds), seeded_at: new Date(recorded[0].seeded_at).toISOString(), this_run: false, vacuumed_before_run_seconds: vacuumed }
        : null;
    }
  } finally {
    await dataSource.destroy();
  }
  process.stdout.write(`Seeding the bench data set (npm run seed -- --profile ${seedProfile})\n`);
  const started = Date.now();
  const seeded = spawnSync(process.execPath, [join(distDir, 'src/cli/main.js'), 'seed', '--profile', seedProfile], {
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  if (seeded.status !== 0) throw new Error(`The bench seed failed (exit code ${seeded.status})`);
  const vacuum = new Client({ connectionString: databaseUrl });
  await vacuum.connect();
  // Fresh statistics and visibility maps, as a database that has been running a while would have.
  await vacuum.query('VACUUM ANALYZE');
  const seconds = (Date.now() - started) / 1000;
  // The bench's own bookkeeping (not the service's schema): later runs on this data set report how it was made.
  await vacuum.query(`CREATE TABLE bench_seeding (seconds double precision NOT NULL, seeded_at timestamptz NOT NULL)`);
  const seededAt = new Date().toISOString();
  await vacuum.query(`INSERT INTO bench_seeding VALUES ($1, $2)`, [seconds, seededAt]);
  await vacuum.end();
  return { seconds, seeded_at: seededAt, this_run: true, vacuumed_before_run_seconds: null };
}

/** What the large organization holds as a run begins. */
export interface LargeOrganizationData {
  users: number;
  events: number;
  /**
   * Its events dated within the live window before the run (the last 6 hours, where the ingestion phases date theirs):
   * the seed leaves a few thousand there, each run adds its own, so runs hours apart see more of them in the indexes
   * their inserts go to (docs/performance.md, "A twenty-first host").
   */
  events_in_live_window: number;
  content: number;
}

export async function describeLargeOrganization(databaseUrl: string, organizationId: string, now: Date): Promise<LargeOrganizationData> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<LargeOrganizationData>(
      `SELECT (SELECT count(*) FROM users WHERE organization_id = $1)::int AS users,
              (SELECT count(*) FROM activity_events WHERE organization_id = $1)::int AS events,
              (SELECT count(*) FROM activity_events WHERE organization_id = $1 AND occurred_at > $2 AND occurred_at <= $3)::int AS events_in_live_window,
              (SELECT count(*) FROM educational_content WHERE organization_id = $1)::int AS content`,
      [organizationId, new Date(now.getTime() - LIVE_WINDOW_MS), now],
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

/** The large organization, its first admin (the bench signs a token for it) and its users (ingestion picks from them). */
export async function findLargeOrganization(databaseUrl: string): Promise<BenchOrganization> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const organization = await client.query<{ id: string; slug: string }>(`SELECT id, slug FROM organizations WHERE slug LIKE 'bench-large-%' ORDER BY created_at LIMIT 1`);
    const { id, slug } = organization.rows[0];
    const admin = await client.query<{ id: string; email: string; token_version: number }>(`SELECT id, email, token_version FROM users WHERE organization_id = $1 AND role = 'admin' AND is_active ORDER BY created_at LIMIT 1`, [id]);
    const users = await client.query<{ id: string }>(`SELECT id FROM users WHERE organization_id = $1`, [id]);
    return { organizationId: id, slug, adminId: admin.rows[0].id, adminEmail: admin.rows[0].email, adminTokenVersion: admin.rows[0].token_version, userIds: users.rows.map((row) => row.id) };
  } finally {
    await client.end();
  }
}
