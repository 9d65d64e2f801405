import { DataSource } from 'typeorm';
import { seedOrganization } from '../src/seed/organization-generator';
import { BENCH_LARGE, planSeed } from '../src/seed/seed-plan';
import { runSeed } from '../src/seed/seed-runner';
import { createTestApp, TestApp } from './support/test-app';

const NOW = new Date('2025-11-20T15:30:00Z');

describe('seed', () => {
  let app: TestApp;
  let dataSource: DataSource;
  beforeAll(async () => {
    app = await createTestApp();
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  /** Seeds in a transaction that is rolled back, returning what the query saw: the same seed can run twice. */
  async function seedAndInspect<T>(seed: number, options: Partial<Parameters<typeof seedOrganization>[1]>, inspect: (organizationId: string, run: (sql: string) => Promise<T[]>) => Promise<T[]>) {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      const result = await seedOrganization(runner.manager, { name: 'Spec', slug: `spec-${seed}`, users: 40, days: 10, eventsPerUserPerDay: 1.5, contentItems: 8, seed, now: NOW, ...options });
      return { result, rows: await inspect(result.organizationId, (sql) => runner.manager.query(sql, [result.organizationId])) };
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  }

  it('plans the benchmark data set for the bench profile: one large organization and 50 ordinary ones, fixed seed', () => {
    const plans = planSeed({ profile: 'bench' });
    expect(plans).toHaveLength(51);
    expect(plans[0]).toEqual({ name: 'Bench Large University', slug: 'bench-large-20251125', tier: 'enterprise', seed: 20251125, users: 100_000, totalEvents: 2_000_000, days: 90, contentItems: 5_000 });
    expect(BENCH_LARGE).toEqual({ users: 100_000, totalEvents: 2_000_000, days: 90, contentItems: 5_000 });
    expect(new Set(plans.map((plan) => plan.slug)).size).toBe(51);
    expect(planSeed({ profile: 'bench' })).toEqual(plans);
  });

  it('lets options override the ordinary organizations of a profile', () => {
    const plans = planSeed({ profile: 'demo', orgs: 2, users: 7, days: 3, eventsPerUserPerDay: 0.5, content: 9, seed: 11 });
    expect(plans).toEqual([
      { name: 'Seeded School 1', slug: 'demo-11-1', tier: 'free', users: 7, days: 3, eventsPerUserPerDay: 0.5, contentItems: 9, seed: 12 },
      { name: 'Seeded School 2', slug: 'demo-11-2', tier: 'basic', users: 7, days: 3, eventsPerUserPerDay: 0.5, contentItems: 9, seed: 13 },
    ]);
  });

  it('builds the same data from the same seed, and different data from another', async () => {
    const fingerprint = (organizationId: string, run: (sql: string) => Promise<{ f: string }[]>) =>
      run(`SELECT md5(string_agg(id::text || type || occurred_at::text || coalesce(score::text, ''), ',' ORDER BY id)) AS f FROM activity_events WHERE organization_id = $1`);
    const first = await seedAndInspect(7, {}, fingerprint);
    const second = await seedAndInspect(7, {}, fingerprint);
    const other = await seedAndInspect(8, {}, fingerprint);
    expect(second.result).toEqual(first.result);
    expect(second.rows).toEqual(first.rows);
    expect(other.rows).not.toEqual(first.rows);
  });

  it('writes plausible rows: within the window, after each user joined, in the past, with every event type', async () => {
    const { result, rows } = await seedAndInspect(21, { users: 60, days: 14 }, (_id, run) =>
      run(`SELECT
             (SELECT count(*)::int FROM activity_events WHERE organization_id = $1) AS events,
             (SELECT count(*)::int FROM activity_events e JOIN users u ON u.organization_id = e.organization_id AND u.id = e.user_id
               WHERE e.organization_id = $1 AND e.occurred_at < u.created_at) AS before_join,
             (SELECT count(*)::int FROM activity_events WHERE organization_id = $1 AND occurred_at > '${NOW.toISOString()}') AS future,
             (SELECT count(*)::int FROM activity_events WHERE organization_id = $1 AND occurred_at < '${NOW.toISOString().slice(0, 10)}'::date - 13) AS before_window,
             (SELECT count(DISTINCT type)::int FROM activity_events WHERE organization_id = $1) AS types,
             (SELECT count(*)::int FROM users u WHERE organization_id = $1 AND last_active_at IS DISTINCT FROM
                (SELECT max(occurred_at) FROM activity_events e WHERE e.organization_id = $1 AND e.user_id = u.id)) AS wrong_last_active,
             (SELECT count(*)::int FROM users WHERE organization_id = $1 AND role = 'admin') AS admins`),
    );
    expect(rows[0]).toEqual({ events: result.events, before_join: 0, future: 0, before_window: 0, types: 4, wrong_last_active: 0, admins: 1 });
    expect(result).toMatchObject({ users: 60, content: 8 });
  });

  it('hits a total event target within 3 %', async () => {
    const { result } = await seedAndInspect(5, { users: 500, days: 30, eventsPerUserPerDay: undefined, totalEvents: 6_000 }, async () => []);
    expect(Math.abs(result.events - 6_000)).toBeLessThan(180);
  });

  it('runSeed writes each planned organization and returns its id and counts', async () => {
    const seed = 5_000_000 + Math.floor(Math.random() * 1_000_000);
    const progress: number[] = [];
    const seeded = await runSeed(dataSource, planSeed({ profile: 'demo', orgs: 2, users: 5, days: 2, content: 2, seed }), NOW, (count) => progress.push(count));
    expect(seeded.map((organization) => [organization.slug, organization.users, organization.content])).toEqual([
      [`demo-${seed}-1`, 5, 2],
      [`demo-${seed}-2`, 5, 2],
    ]);
    const counts = await dataSource.query(
      `SELECT id, (SELECT count(*)::int FROM activity_events e WHERE e.organization_id = o.id) AS events FROM organizations o WHERE id = ANY($1::uuid[]) ORDER BY slug`,
      [seeded.map((organization) => organization.organizationId)],
    );
    expect(counts).toEqual(seeded.map((organization) => ({ id: organization.organizationId, events: organization.events })));
    expect(progress.reduce((sum, count) => sum + count, 0)).toBe(seeded[0].events + seeded[1].events);
  });

  it('runSeed leaves rollups equal to the raw rows (loaded without triggers, then rebuilt)', async () => {
    const seed = 7_000_000 + Math.floor(Math.random() * 1_000_000);
    const [organization] = await runSeed(dataSource, planSeed({ profile: 'demo', orgs: 1, users: 30, days: 6, content: 5, seed }), NOW, () => undefined);
    const [rollups] = await dataSource.query(
      `SELECT sum(events)::int AS events, sum(lessons_completed)::int AS lessons, sum(sessions)::int AS sessions, sum(new_users)::int AS users, sum(content_created)::int AS content
         FROM daily_rollups WHERE organization_id = $1`,
      [organization.organizationId],
    );
    const [raw] = await dataSource.query(
      `SELECT (SELECT count(*)::int FROM activity_events WHERE organization_id = $1) AS events,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1 AND type = 'lesson_completed') AS lessons,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1 AND type = 'session') AS sessions,
              (SELECT count(*)::int FROM users WHERE organization_id = $1) AS users,
              (SELECT count(*)::int FROM educational_content WHERE organization_id = $1) AS content`,
      [organization.organizationId],
    );
    expect(raw).toEqual({ events: organization.events, lessons: expect.any(Number), sessions: expect.any(Number), users: 30, content: 5 });
    expect(rollups).toEqual(raw);
  });
});
