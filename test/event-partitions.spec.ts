import { randomBytes } from 'node:crypto';
import { EventsRepository } from '../src/events/events.repository';
import type { ExportRequest } from '../src/metrics/dto/metrics-query.dto';
import { ExportService } from '../src/metrics/export/export.service';
import { MetricsRepository } from '../src/metrics/metrics.repository';
import { MetricsService } from '../src/metrics/metrics.service';
import { periodWindow, startOfUtcDay } from '../src/metrics/periods';
import { EventPartitionsService, MONTHS_AHEAD } from '../src/partitions/event-partitions.service';
import { monthsBetween } from '../src/partitions/event-partitions.repository';
import { RollupsRepository } from '../src/rollups/rollups.repository';
import { seedOrganization } from '../src/seed/organization-generator';
import { planSeed } from '../src/seed/seed-plan';
import { runSeed } from '../src/seed/seed-runner';
import { Random } from '../src/seed/random';
import { createUser, http, signup } from './support/factories';
import { createTestApp, ManualClock, TestApp } from './support/test-app';
import { ownDatabaseUrl } from './support/test-env';

const DAY_MS = 86_400_000;
const RETENTION_DAYS = 40;

/**
 * activity_events is partitioned by month; the service keeps partitions ahead, moves far-past imports out of the
 * default partition, and with EVENT_RETENTION_DAYS drops whole months of raw events while every figure that the
 * rollups back (dashboard, statistics and exports over days) stays exactly what it was.
 */
describe('activity_events partitions and retention', () => {
  let testApp: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    // Its own database: retention drops months and moves the horizon for every organization, and other files on this worker seed old months.
    testApp = await createTestApp({ clock, env: { EVENT_RETENTION_DAYS: String(RETENTION_DAYS), DATABASE_URL: await ownDatabaseUrl('retention') } });
  });
  afterAll(() => testApp.close());

  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> => testApp.dataSource.query(sql, params);
  const maintain = () => testApp.get(EventPartitionsService).maintain(clock.date());

  it('is a partitioned table with its row-level security, its rollup trigger, a default partition and months ahead', async () => {
    const [table] = await query<{ relkind: string; relrowsecurity: boolean; strategy: string; key: string }>(
      `SELECT c.relkind, c.relrowsecurity, p.partstrat AS strategy, pg_get_partkeydef(c.oid) AS key
         FROM pg_class c JOIN pg_partitioned_table p ON p.partrelid = c.oid WHERE c.oid = 'activity_events'::regclass`,
    );
    expect(table).toEqual({ relkind: 'p', relrowsecurity: true, strategy: 'r', key: 'RANGE (occurred_at)' });
    const policies = await query<{ policyname: string }>(`SELECT policyname FROM pg_policies WHERE tablename = 'activity_events'`);
    expect(policies.map((policy) => policy.policyname)).toEqual(['tenant_isolation']);
    const triggers = await query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'activity_events'::regclass AND NOT tgisinternal ORDER BY tgname`);
    expect(triggers.map((trigger) => trigger.tgname)).toEqual(['lock_organization_rollups', 'rollups_events_inserted']);
    const [key] = await query<{ definition: string }>(`SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = 'activity_events_pkey'`);
    expect(key.definition).toBe('PRIMARY KEY (organization_id, occurred_at, id)');

    const now = clock.date();
    const ahead = monthsBetween(now, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1)));
    const partitions = await query<{ name: string; app_can_read: boolean }>(
      `SELECT c.relname AS name, has_table_privilege('toolbox_app', c.oid, 'SELECT') AS app_can_read
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'activity_events'::regclass`,
    );
    const names = partitions.map((partition) => partition.name);
    expect(names).toContain('activity_events_default');
    for (const month of ahead) expect(names).toContain(`activity_events_p${month.slice(0, 7).replace('-', '_')}`);
    // Requests reach rows only through the parent and its policy.
    expect(partitions.every((partition) => !partition.app_can_read)).toBe(true);
    // A second pass has nothing left to create.
    expect((await maintain()).created).toEqual([]);
  });

  it('moves a far-past import out of the default partition, and a replay after its month was dropped is still a duplicate', async () => {
    clock.set(Date.now());
    const admin = await signup(testApp);
    const auth = { Authorization: `Bearer ${admin.token}` };
    const user = await createUser(testApp, admin.token, { created_at: new Date(Date.now() - 500 * DAY_MS).toISOString() });
    const occurredAt = new Date(Date.now() - 400 * DAY_MS);
    const day = occurredAt.toISOString().slice(0, 10);
    const imported = { id: new Random(3).uuid(), type: 'lesson_completed', user_id: user.id, occurred_at: occurredAt.toISOString(), score: 70 };
    await http(testApp).post('/api/v1/events').set(auth).send({ events: [imported] }).expect(202, { accepted: 1, duplicates: 0 });
    const inDefault = await query<{ count: number }>(`SELECT count(*)::int AS count FROM activity_events_default WHERE organization_id = $1`, [admin.organization.id]);
    expect(inDefault[0].count).toBe(1);
    const dayRow = () =>
      query<{ events: number; lessons_completed: number }>(`SELECT events, lessons_completed FROM daily_rollups WHERE organization_id = $1 AND day = $2`, [
        admin.organization.id,
        day,
      ]);
    expect(await dayRow()).toEqual([{ events: 1, lessons_completed: 1 }]);

    const month = `${day.slice(0, 7)}-01`;
    const { created, dropped } = await maintain();
    expect(created).toContain(month);
    // 400 days is past the retention: the month the import created is dropped in the same pass.
    expect(dropped).toContain(`activity_events_p${day.slice(0, 7).replace('-', '_')}`);
    expect(await query(`SELECT 1 FROM activity_events_default WHERE organization_id = $1`, [admin.organization.id])).toEqual([]);
    expect(await query(`SELECT 1 FROM activity_events WHERE organization_id = $1`, [admin.organization.id])).toEqual([]);
    expect(await dayRow()).toEqual([{ events: 1, lessons_completed: 1 }]);

    // The raw row is gone, its id is not: a replay counts nothing twice.
    await http(testApp).post('/api/v1/events').set(auth).send({ events: [imported] }).expect(202, { accepted: 0, duplicates: 1 });
    expect(await dayRow()).toEqual([{ events: 1, lessons_completed: 1 }]);
    // A new event of that old day is still added to the day's figures.
    await http(testApp)
      .post('/api/v1/events')
      .set(auth)
      .send({ events: [{ ...imported, id: new Random(4).uuid() }] })
      .expect(202, { accepted: 1, duplicates: 0 });
    expect(await dayRow()).toEqual([{ events: 2, lessons_completed: 2 }]);
  });

  it('drops whole months past EVENT_RETENTION_DAYS while every rollup-backed figure stays exactly equal', async () => {
    const seeded = await testApp.dataSource.transaction((manager) =>
      seedOrganization(manager, {
        name: 'Retention',
        slug: `retention-${randomBytes(5).toString('hex')}`,
        tier: 'enterprise',
        users: 40,
        days: 130,
        eventsPerUserPerDay: 0.6,
        contentItems: 12,
        seed: 8080,
        now: new Date(),
      }),
    );
    const organizationId = seeded.organizationId;
    clock.set(Date.now());
    const now = clock.date();
    const today = startOfUtcDay(now);

    const figures = async () => {
      const metrics = testApp.get(MetricsService);
      const statistics = [];
      for (const period of ['7d', '30d', '90d'] as const) {
        const { generated_at: _generated, api_performance: _requests, ...figures } = await metrics.statistics(organizationId, period);
        statistics.push(figures);
      }
      const exports = [];
      for (const date_range of ['7d', '30d', '90d'] as const) {
        const request = { format: 'json', date_range, metric_types: ['users', 'content', 'engagement'] } as ExportRequest;
        const { generated_at: _generated, ...table } = await testApp.get(ExportService).build(organizationId, request);
        exports.push(table);
      }
      return { dashboard: await testApp.get(RollupsRepository).dashboardFigures(organizationId, now, today, 7), statistics, exports };
    };
    const rawEvents = async () =>
      (await query<{ count: number; oldest: Date }>(`SELECT count(*)::int AS count, min(occurred_at) AS oldest FROM activity_events WHERE organization_id = $1`, [organizationId]))[0];

    const cutoff = new Date(now.getTime() - RETENTION_DAYS * DAY_MS);
    const cutoffMonth = new Date(Date.UTC(cutoff.getUTCFullYear(), cutoff.getUTCMonth(), 1));
    const eventsFrom = async (from: Date) =>
      (await query<{ count: number }>(`SELECT count(*)::int AS count FROM activity_events WHERE organization_id = $1 AND occurred_at >= $2`, [organizationId, from]))[0].count;

    const before = await figures();
    const rawBefore = await rawEvents();
    const keptBefore = await eventsFrom(cutoffMonth);
    const beforeCutoffInItsMonth = keptBefore - (await eventsFrom(cutoff));
    expect(rawBefore.count).toBe(seeded.events);
    // The 90-day figures reach back into the months that are about to be dropped: lessons on days before the cutoff's month.
    const ninetyDays = before.statistics[2].series.lessons_completed.points;
    const lessonsInDroppedMonths = ninetyDays.filter(([day]) => new Date(day) < cutoffMonth).reduce((total, [, value]) => total + (value ?? 0), 0);
    expect(lessonsInDroppedMonths).toBeGreaterThan(0);
    expect(rawBefore.count).toBeGreaterThan(keptBefore);

    const { dropped } = await maintain();
    expect(dropped.length).toBeGreaterThanOrEqual(2);
    // Exactly the months that ended before the cutoff's month: every event from that month on is still there, and the
    // days of the cutoff's month before the cutoff itself are kept with it (whole partitions only).
    for (const name of dropped) expect(name < `activity_events_p${cutoffMonth.toISOString().slice(0, 7).replace('-', '_')}`).toBe(true);
    const rawAfter = await rawEvents();
    expect(rawAfter.count).toBe(keptBefore);
    expect(rawAfter.oldest.getTime()).toBeGreaterThanOrEqual(cutoffMonth.getTime());
    expect((await eventsFrom(cutoffMonth)) - (await eventsFrom(cutoff))).toBe(beforeCutoffInItsMonth);

    expect(await figures()).toEqual(before);
    const [horizon] = await query<{ kept_from: Date }>(`SELECT kept_from FROM activity_events_retention`);
    expect(horizon.kept_from.getTime()).toBe(cutoffMonth.getTime());

    // A rebuild recomputes the days the raw events still cover and keeps what only the rollups hold of the others.
    const rows = () => query(`SELECT * FROM daily_rollups WHERE organization_id = $1 AND (events, new_users, content_created, daily_active_users) <> (0, 0, 0, 0) ORDER BY day`, [organizationId]);
    const rowsBefore = await rows();
    await testApp.get(RollupsRepository).rebuild(organizationId);
    expect(await figures()).toEqual(before);
    expect(await rows()).toEqual(rowsBefore);
    // What the raw events still cover is still equal to aggregate SQL over them.
    const week = periodWindow('7d', now);
    const raw = await testApp.get(MetricsRepository).activitySeries(organizationId, week);
    const rollups = await testApp.get(RollupsRepository).dailySeries(organizationId, week);
    expect(rollups.map((bucket) => [bucket.events, bucket.active_users, bucket.lessons_completed])).toEqual(
      raw.map((bucket) => [bucket.events, bucket.active_users, bucket.lessons_completed]),
    );
  });

  it('seeds an organization whose days reach behind the retention horizon with every one of those days in its rollups', async () => {
    clock.set(Date.now());
    const seed = 9_000_000 + Math.floor(Math.random() * 1_000_000);
    // Another organization whose months behind the horizon are gone from the raw events: only its rollups still hold them.
    const [earlier] = await runSeed(testApp.dataSource, planSeed({ profile: 'demo', orgs: 1, users: 10, days: 100, content: 2, seed: seed + 1 }), clock.date(), () => undefined);
    // A month well past the retention exists, so that maintenance drops it and a horizon is set (the test above also does).
    await query(`SELECT activity_events_create_partition($1::date)`, [new Date(clock.now() - 100 * DAY_MS)]);
    await maintain();
    const [{ kept_from: keptFrom }] = await query<{ kept_from: Date }>(`SELECT kept_from FROM activity_events_retention`);
    expect(keptFrom).not.toBeNull();
    const rollupsOf = (organizationId: string) => query<Record<string, unknown>>(`SELECT * FROM daily_rollups WHERE organization_id = $1 ORDER BY day`, [organizationId]);
    const earlierRollups = await rollupsOf(earlier.organizationId);
    const [earlierRaw] = await query<{ events: number }>(`SELECT count(*)::int AS events FROM activity_events WHERE organization_id = $1`, [earlier.organizationId]);
    expect(earlierRaw.events).toBeLessThan(earlier.events);

    const [organization] = await runSeed(testApp.dataSource, planSeed({ profile: 'demo', orgs: 1, users: 20, days: 100, content: 4, seed }), clock.date(), () => undefined);
    // The seed rebuilt only its own organization: the other keeps every rollup row, those behind the horizon included.
    expect(await rollupsOf(earlier.organizationId)).toEqual(earlierRollups);
    expect(earlierRollups.reduce((sum, row) => sum + Number(row.events), 0)).toBe(earlier.events);
    const totals = (where: string) =>
      query<{ events: number; lessons: number; sessions: number }>(
        `SELECT count(*)::int AS events, (count(*) FILTER (WHERE type = 'lesson_completed'))::int AS lessons, (count(*) FILTER (WHERE type = 'session'))::int AS sessions
           FROM activity_events WHERE organization_id = $1 ${where}`,
        [organization.organizationId, keptFrom],
      );
    const rollupTotals = (where: string) =>
      query<{ events: number; lessons: number; sessions: number }>(
        `SELECT COALESCE(sum(events), 0)::int AS events, COALESCE(sum(lessons_completed), 0)::int AS lessons, COALESCE(sum(sessions), 0)::int AS sessions
           FROM daily_rollups WHERE organization_id = $1 ${where}`,
        [organization.organizationId, keptFrom],
      );
    const [behindRaw] = await totals(`AND occurred_at < $2`);
    // The seed wrote raw events before the horizon, and the rollups count them, day for day as after it.
    expect(behindRaw.events).toBeGreaterThan(0);
    expect((await rollupTotals(`AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date`))[0]).toEqual(behindRaw);
    expect((await rollupTotals(`AND $2::timestamptz IS NOT NULL`))[0]).toEqual((await totals(`AND $2::timestamptz IS NOT NULL`))[0]);
    expect((await rollupTotals(`AND $2::timestamptz IS NOT NULL`))[0].events).toBe(organization.events);

    // The next maintenance drops those raw events again; what the rollups hold of them stays.
    const before = await rollupTotals(`AND $2::timestamptz IS NOT NULL`);
    await maintain();
    expect((await totals(`AND occurred_at < $2`))[0].events).toBe(0);
    expect(await rollupTotals(`AND $2::timestamptz IS NOT NULL`)).toEqual(before);
  });
});

describe('activity_events partitions ahead of time', () => {
  let testApp: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    // Its own database: this file moves the service's clock months ahead and creates partitions there.
    testApp = await createTestApp({ clock, env: { DATABASE_URL: await ownDatabaseUrl('partitions_ahead') } });
  });
  afterAll(() => testApp.close());

  const partitionOf = (month: string) => `activity_events_p${month.slice(0, 7).replace('-', '_')}`;
  const monthPartitions = async () =>
    (
      await testApp.dataSource.query<{ name: string }[]>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'activity_events'::regclass AND c.relname <> 'activity_events_default' ORDER BY 1`,
      )
    ).map((partition) => partition.name);

  it('creates the months that come within reach as time passes, and an event there is stored in its month', async () => {
    const service = testApp.get(EventPartitionsService);
    const existing = await monthPartitions();
    // Five months on, the months the migrations and start-up created no longer reach MONTHS_AHEAD past the clock.
    const start = new Date();
    const later = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 5, 15, 12));
    clock.set(later.getTime());
    const wanted = monthsBetween(later, new Date(Date.UTC(later.getUTCFullYear(), later.getUTCMonth() + MONTHS_AHEAD, 1)));
    const missing = wanted.filter((month) => !existing.includes(partitionOf(month)));
    expect(missing.length).toBeGreaterThanOrEqual(2);

    const { created, dropped } = await service.maintain(later);
    expect(created).toEqual(missing);
    expect(dropped).toEqual([]);
    expect(await monthPartitions()).toEqual([...existing, ...missing.map(partitionOf)].sort());
    expect((await service.maintain(later)).created).toEqual([]);

    // An event of that time, stored by the service's writer (the API judges "not in the future" by the wall clock),
    // goes to its month's partition, not to the default one.
    const admin = await signup(testApp);
    const user = await createUser(testApp, admin.token, { role: 'student' });
    const id = new Random(11).uuid();
    const stored = await testApp
      .get(EventsRepository)
      .insertBatch(admin.organization.id, [{ id, userId: user.id, type: 'lesson_completed', contentId: null, occurredAt: later, durationSeconds: null, score: 90 }]);
    expect(stored).toEqual({ accepted: 1, byType: { lesson_completed: 1 } });
    const [row] = await testApp.dataSource.query<{ partition: string }[]>(`SELECT tableoid::regclass::text AS partition FROM activity_events WHERE id = $1`, [id]);
    expect(row.partition).toBe(partitionOf(later.toISOString()));
  });
});
