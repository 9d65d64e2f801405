import { MetricsRepository } from '../src/metrics/metrics.repository';
import { MetricsService } from '../src/metrics/metrics.service';
import { periodWindow, startOfUtcDay } from '../src/metrics/periods';
import { EventPartitionsService } from '../src/partitions/event-partitions.service';
import { RollupsRepository } from '../src/rollups/rollups.repository';
import { Random } from '../src/seed/random';
import { createUser, http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const DAY_MS = 86_400_000;

/** The rollup triggers (statement triggers with transition tables) work the same on the embedded PGlite. */
describe('rollups on the embedded database', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ redis: false, env: { DATABASE_URL: undefined, EMBEDDED_DATA_DIR: 'memory://', MIGRATIONS_RUN: 'true', DEMO_DATA: 'false' } });
  }, 180_000);
  afterAll(() => testApp?.close());

  it('gives the raw-SQL figures after users, content and event batches with replays', async () => {
    const admin = await signup(testApp);
    const auth = { Authorization: `Bearer ${admin.token}` };
    const users = [admin.user.id];
    for (let i = 0; i < 6; i++) users.push((await createUser(testApp, admin.token, { created_at: new Date(Date.now() - i * 9 * DAY_MS).toISOString() })).id);
    await http(testApp).post('/api/v1/content').set(auth).send({ title: 'Timed', content_type: 'lesson', generation_time_ms: 4200 }).expect(201);
    await http(testApp).patch(`/api/v1/users/${users[2]}`).set(auth).send({ is_active: false }).expect(200);
    const random = new Random(5);
    const events = Array.from({ length: 120 }, () => ({
      id: random.uuid(),
      type: random.pick(['login', 'lesson_completed', 'session'] as const),
      user_id: random.pick(users),
      occurred_at: new Date(Date.now() - random.int(0, 40 * DAY_MS)).toISOString(),
      duration_seconds: 600,
    }));
    await http(testApp).post('/api/v1/events').set(auth).send({ events: events.slice(0, 80) }).expect(202);
    const replay = await http(testApp).post('/api/v1/events').set(auth).send({ events: events.slice(60) }).expect(202);
    expect(replay.body).toEqual({ accepted: 40, duplicates: 20 });

    const now = new Date();
    const today = startOfUtcDay(now);
    const organizationId = admin.organization.id;
    const raw = testApp.get(MetricsRepository);
    const rollups = await testApp.get(RollupsRepository).dashboardFigures(organizationId, now, today, 7);
    expect(rollups.users).toEqual(await raw.userFigures(organizationId, now, today));
    expect(rollups.engagementDays).toEqual(await raw.engagementDays(organizationId, now, today, 7));
    expect(rollups.engagement.total_lessons_completed).toBe((await raw.engagementFigures(organizationId, now, today)).total_lessons_completed);
    expect(rollups.content.avg_generation_ms).toBe(4200);
    expect(rollups.users.total_users).toBe(6);

    // The monthly partitions work the same: an import of a month without a partition is drained from the default one.
    const old = { id: random.uuid(), type: 'login', user_id: users[1], occurred_at: new Date(Date.now() - 300 * DAY_MS).toISOString() };
    await http(testApp).post('/api/v1/events').set(auth).send({ events: [old] }).expect(202, { accepted: 1, duplicates: 0 });
    const [table]: { relkind: string }[] = await testApp.dataSource.query(`SELECT relkind FROM pg_class WHERE oid = 'activity_events'::regclass`);
    expect(table.relkind).toBe('p');
    const { created } = await testApp.get(EventPartitionsService).maintain();
    expect(created).toContain(`${old.occurred_at.slice(0, 7)}-01`);
    expect(await testApp.dataSource.query(`SELECT id FROM activity_events_default`)).toEqual([]);
    expect(await testApp.dataSource.query(`SELECT id FROM activity_events WHERE id = $1`, [old.id])).toEqual([{ id: old.id }]);
    const stats = await testApp.get(MetricsService).statistics(organizationId, '30d');
    const raw30 = await raw.activitySeries(organizationId, periodWindow('30d', new Date()));
    expect(stats.series.lessons_completed.points.map((point) => point[1])).toEqual(raw30.map((bucket) => bucket.lessons_completed));
  }, 60_000);
});
