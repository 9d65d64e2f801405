import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CliModule } from '../src/cli/cli.module';
import { CliEnvironment, runCli } from '../src/cli/program';
import { AppConfig, loadConfig } from '../src/config/app-config';
import { signup } from './support/factories';
import { createTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';
import { databaseUrl, workerDatabaseName } from './support/test-env';

/** The CLI exactly as main.ts runs it, on the worker's database, with its output captured. */
function cli(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const environment: CliEnvironment = {
    config: () => loadConfig({ DATABASE_URL: databaseUrl(workerDatabaseName()), JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...env } as NodeJS.ProcessEnv),
    openContext: (config: AppConfig) => NestFactory.createApplicationContext(CliModule.withConfig(config), { logger: false, abortOnError: false }),
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    progress: () => ({ start: () => undefined, add: () => undefined, stop: () => undefined }),
  };
  return { run: (...args: string[]) => runCli(args, environment), out, err };
}

describe('operations CLI', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const tierOf = async (id: string) => (await app.get(DataSource).query(`SELECT tier FROM organizations WHERE id = $1`, [id]))[0].tier;

  it('org:set-tier changes the tier by slug and by id', async () => {
    const account = await signup(app);
    const bySlug = cli();
    expect(await bySlug.run('org:set-tier', account.organization.slug, 'enterprise')).toBe(0);
    expect(bySlug.out).toEqual([`Organization ${account.organization.slug} (${account.organization.id}) is now on tier enterprise\n`]);
    expect(await tierOf(account.organization.id)).toBe('enterprise');

    const byId = cli();
    expect(await byId.run('org:set-tier', account.organization.id.toUpperCase(), 'basic')).toBe(0);
    expect(byId.out).toEqual([`Organization ${account.organization.slug} (${account.organization.id}) is now on tier basic\n`]);
    expect(await tierOf(account.organization.id)).toBe('basic');
    expect(byId.err).toEqual([]);
  });

  it('org:set-tier refuses an unknown tier, naming the allowed values, and changes nothing', async () => {
    const account = await signup(app);
    const run = cli();
    expect(await run.run('org:set-tier', account.organization.slug, 'gold')).toBe(1);
    expect(run.err).toEqual(['Invalid tier "gold": allowed values are free, basic, premium, enterprise\n']);
    expect(run.out).toEqual([]);
    expect(await tierOf(account.organization.id)).toBe('free');
  });

  it('org:set-tier exits 1 for an unknown organization, by slug or id', async () => {
    for (const organization of ['no-such-school', '00000000-0000-4000-8000-000000000000']) {
      const run = cli();
      expect(await run.run('org:set-tier', organization, 'premium')).toBe(1);
      expect(run.err).toEqual([`No organization with id or slug "${organization}"\n`]);
    }
  });

  it('exits 1 with usage errors for missing arguments, unknown commands and bad options', async () => {
    const missing = cli();
    expect(await missing.run('org:set-tier', 'demo')).toBe(1);
    expect(missing.err.join('')).toContain("error: missing required argument 'tier'");
    const unknown = cli();
    expect(await unknown.run('org:delete', 'demo')).toBe(1);
    expect(unknown.err.join('')).toContain("error: unknown command 'org:delete'");
    const badOption = cli();
    expect(await badOption.run('seed', '--orgs', 'many')).toBe(1);
    expect(badOption.err.join('')).toContain("error: option '--orgs <n>' argument 'many' is invalid. --orgs must be an integer of at least 0");
    const badProfile = cli();
    expect(await badProfile.run('seed', '--profile', 'huge')).toBe(1);
    expect(badProfile.err.join("")).toContain("Allowed choices are demo, bench, bench-xl, bench-tiny.");
  });

  it('reports an invalid configuration naming the variable, before connecting', async () => {
    const run = cli({ PORT: 'abc' });
    expect(await run.run('org:set-tier', 'demo', 'free')).toBe(1);
    expect(run.err[0]).toContain('PORT: ');
  });

  it('says so when the database is unreachable, without a stack trace', async () => {
    const run = cli({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    expect(await run.run('org:set-tier', 'demo', 'free')).toBe(1);
    expect(run.err).toEqual(['The database is unreachable (check DATABASE_URL): connect ECONNREFUSED 127.0.0.1:1\n']);
  });

  it('seed refuses to run without DATABASE_URL', async () => {
    const run = cli({ DATABASE_URL: '' });
    expect(await run.run('seed', '--orgs', '1')).toBe(1);
    expect(run.err).toEqual(['seed needs DATABASE_URL (a PostgreSQL server whose migrations have run); it does not write to the embedded database\n']);
  });

  it('seed writes the requested organizations and reports them; the same seed again is refused clearly', async () => {
    const seed = String(1000 + Math.floor(Math.random() * 1_000_000));
    const run = cli();
    expect(await run.run('seed', '--orgs', '2', '--users', '12', '--days', '5', '--events-per-user-per-day', '2', '--content', '4', '--seed', seed)).toBe(0);
    const rows = await app.dataSource.query(
      `SELECT o.slug, o.tier, (SELECT count(*)::int FROM users u WHERE u.organization_id = o.id) AS users,
              (SELECT count(*)::int FROM educational_content c WHERE c.organization_id = o.id) AS content,
              (SELECT count(*)::int FROM activity_events e WHERE e.organization_id = o.id) AS events
         FROM organizations o WHERE o.slug LIKE $1 ORDER BY o.slug`,
      [`demo-${seed}-%`],
    );
    expect(rows.map((row: { slug: string; tier: string; users: number; content: number }) => [row.slug, row.tier, row.users, row.content])).toEqual([
      [`demo-${seed}-1`, 'free', 12, 4],
      [`demo-${seed}-2`, 'basic', 12, 4],
    ]);
    const total = rows.reduce((sum: number, row: { events: number }) => sum + row.events, 0);
    expect(run.out.at(-1)).toMatch(new RegExp(`^Seeded 2 organizations and ${total} events in \\d+\\.\\d s \\(\\d+ events/s\\)\\n$`));
    expect(run.out[0]).toMatch(new RegExp(`^demo-${seed}-1\\t[0-9a-f-]{36}\\t12 users\\t4 content\\t${rows[0].events} events\\n$`));

    const again = cli();
    expect(await again.run('seed', '--orgs', '1', '--seed', seed)).toBe(1);
    expect(again.err).toEqual(['These organizations were already seeded with this --seed: pass another --seed or use a fresh database\n']);
  });
});
