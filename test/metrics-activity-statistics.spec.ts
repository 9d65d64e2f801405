import { EntityManager } from 'typeorm';
import { http, signup } from './support/factories';
import { buildOrganization, FixtureOrganization, NOW, organizationA, organizationB } from './support/metrics-fixture';
import { Clock } from '../src/common/clock';
import { MetricsRepository } from '../src/metrics/metrics.repository';
import { RollupsRepository } from '../src/rollups/rollups.repository';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

const DAYS_7 = ['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20'].map((day) => `${day}T00:00:00.000Z`);
const points = (values: (number | null)[], starts = DAYS_7) => values.map((value, i) => [starts[i], value]);

describe('metrics activity and statistics', () => {
  let testApp: TestApp;
  let a: FixtureOrganization;

  beforeAll(async () => {
    testApp = await createTestApp({ clock: new ManualClock(NOW.getTime()) });
    a = await buildOrganization(testApp, organizationA());
    await buildOrganization(testApp, organizationB());
  });
  afterAll(() => testApp.close());

  const get = (path: string, token = a.admin.token) => http(testApp).get(`/api/v1/metrics/${path}`).set('Authorization', `Bearer ${token}`);
  // cache_metadata is the metrics cache's (test/cache.e2e.spec.ts); these specs check the figures.
  const figures = ({ cache_metadata: _cacheMetadata, ...rest }: Record<string, unknown>) => rest;

  describe('GET /metrics/activity', () => {
    it('counts the last 24 hours by default, hour by hour, with top content and the newest events', async () => {
      const body = figures((await get('activity').expect(200)).body);
      // Whole UTC hours: 11-19 16:00 … 11-20 15:00, the last one the current hour up to 15:30.
      const hourly = Array.from({ length: 24 }, (_, i) => ({ hour: new Date(Date.parse('2026-11-19T16:00:00Z') + i * 3_600_000).toISOString(), events: 0 }));
      // e6 20:00 and e7 20:30 → bucket 4, e1 09:00 and e2 09:40 → 17, e3 10:15 → 18, e4 14:00 → 22, e5 15:00 → 23
      for (const [i, events] of [[4, 2], [17, 2], [18, 1], [22, 1], [23, 1]]) hourly[i].events = events;
      expect(body).toEqual({
        organization_id: a.organizationId,
        window_hours: 24,
        since: '2026-11-19T16:00:00.000Z',
        recent_lessons: 3, // e7, e2, e5
        recent_assessments: 1, // e3
        recent_sessions: 2, // e6, e1
        new_users: 1, // u5
        content_published: 1, // c6
        hourly,
        top_content: [
          { id: a.ids.c1, title: 'Fractions', content_type: 'lesson', completions: 2, avg_score: 90 }, // e7 100, e2 80
          { id: a.ids.c6, title: 'Geometry', content_type: 'lesson', completions: 1, avg_score: 70 },
        ],
        recent_events: [
          { id: a.ids.e5, type: 'lesson_completed', occurred_at: '2026-11-20T15:00:00.000Z', user: { id: a.ids.u3, name: 'Cy' }, content: { id: a.ids.c6, title: 'Geometry' } },
          { id: a.ids.e4, type: 'login', occurred_at: '2026-11-20T14:00:00.000Z', user: { id: a.ids.u5, name: 'Eve' }, content: null },
          { id: a.ids.e3, type: 'assessment_submitted', occurred_at: '2026-11-20T10:15:00.000Z', user: { id: a.ids.u3, name: 'Cy' }, content: { id: a.ids.c2, title: 'Decimals quiz' } },
          { id: a.ids.e2, type: 'lesson_completed', occurred_at: '2026-11-20T09:40:00.000Z', user: { id: a.ids.u1, name: 'Ada' }, content: { id: a.ids.c1, title: 'Fractions' } },
          { id: a.ids.e1, type: 'session', occurred_at: '2026-11-20T09:00:00.000Z', user: { id: a.ids.u1, name: 'Ada' }, content: null },
          { id: a.ids.e7, type: 'lesson_completed', occurred_at: '2026-11-19T20:30:00.000Z', user: { id: a.ids.u4, name: 'Dee' }, content: { id: a.ids.c1, title: 'Fractions' } },
          { id: a.ids.e6, type: 'session', occurred_at: '2026-11-19T20:00:00.000Z', user: { id: a.ids.u4, name: 'Dee' }, content: null },
        ],
      });
    });

    it('honours hours and limit', async () => {
      const body = figures((await get('activity?hours=1&limit=1').expect(200)).body);
      expect(body).toEqual({
        organization_id: a.organizationId,
        window_hours: 1,
        since: '2026-11-20T15:00:00.000Z',
        recent_lessons: 1,
        recent_assessments: 0,
        recent_sessions: 0,
        new_users: 0,
        content_published: 0,
        hourly: [{ hour: '2026-11-20T15:00:00.000Z', events: 1 }], // the current hour so far: e5 at 15:00
        top_content: [{ id: a.ids.c6, title: 'Geometry', content_type: 'lesson', completions: 1, avg_score: 70 }],
        recent_events: [
          { id: a.ids.e5, type: 'lesson_completed', occurred_at: '2026-11-20T15:00:00.000Z', user: { id: a.ids.u3, name: 'Cy' }, content: { id: a.ids.c6, title: 'Geometry' } },
        ],
      });
    });

    it('labels the same whole hours for two requests a minute apart', async () => {
      const clock = testApp.get(Clock) as ManualClock;
      try {
        clock.set(Date.parse('2026-11-20T15:58:59.000Z'));
        const first = (await get('activity?hours=3&limit=1').expect(200)).body;
        clock.set(Date.parse('2026-11-20T15:59:59.999Z'));
        const second = (await get('activity?hours=3&limit=2').expect(200)).body;
        const labels = ['2026-11-20T13:00:00.000Z', '2026-11-20T14:00:00.000Z', '2026-11-20T15:00:00.000Z'];
        expect(first.hourly.map((bucket: { hour: string }) => bucket.hour)).toEqual(labels);
        expect(second.hourly.map((bucket: { hour: string }) => bucket.hour)).toEqual(labels);
        expect([first.since, second.since]).toEqual([labels[0], labels[0]]);
        // e4 14:00, e5 15:00 (and e19 at 15:32, no longer in the future)
        expect(second.hourly.map((bucket: { events: number }) => bucket.events)).toEqual([0, 1, 2]);
      } finally {
        clock.set(NOW.getTime());
      }
    });

    it('covers a week with hours=168', async () => {
      const { body } = await get('activity?hours=168&limit=100').expect(200);
      expect(body.hourly).toHaveLength(168);
      expect(body.hourly.reduce((sum: number, bucket: { events: number }) => sum + bucket.events, 0)).toBe(11); // since 11-13 16:00: e1–e11 (e12, e13 fall earlier that day)
      expect(body.since).toBe('2026-11-13T16:00:00.000Z');
      expect(body.recent_events.map((event: { id: string }) => event.id)).toEqual(
        ['e5', 'e4', 'e3', 'e2', 'e1', 'e7', 'e6', 'e8', 'e10', 'e9', 'e11'].map((key) => a.ids[key]),
      );
      expect(body.recent_lessons).toBe(4); // e2, e5, e7, e10
      expect(body.new_users).toBe(2); // u4, u5
      expect(body.content_published).toBe(2); // c1 (11-15 15:30), c6
    });
  });

  describe('GET /metrics/statistics', () => {
    it('gives 7 zero-filled daily series with their summaries by default', async () => {
      const { body } = await get('statistics').expect(200);
      expect(body.period).toBe('7d');
      expect(body.bucket).toBe('day');
      expect(body.since).toBe('2026-11-14T00:00:00.000Z');
      expect(body.generated_at).toBe('2026-11-20T15:30:00.000Z');
      expect(body.series).toEqual({
        daily_active_users: {
          points: points([1, 0, 0, 1, 0, 2, 3]),
          // sorted 0 0 0 1 1 2 3; p95 at rank 5.7 → 2.7; σ = √(8/7); slope Σ(x−3)y / 28 = 10/28; halves [1,0,0] vs [0,2,3]
          summary: { count: 7, sum: 7, min: 0, max: 3, mean: 1, median: 1, p95: 2.7, p99: 2.94, std_dev: 1.07, slope_per_bucket: 0.36, change_pct: 400 },
        },
        new_users: {
          points: points([0, 0, 0, 1, 0, 0, 1]),
          summary: { count: 7, sum: 2, min: 0, max: 1, mean: 0.29, median: 0, p95: 1, p99: 1, std_dev: 0.45, slope_per_bucket: 0.11, change_pct: null },
        },
        content_created: {
          points: points([0, 1, 0, 0, 1, 0, 2]),
          summary: { count: 7, sum: 4, min: 0, max: 2, mean: 0.57, median: 0, p95: 1.7, p99: 1.94, std_dev: 0.73, slope_per_bucket: 0.18, change_pct: 200 },
        },
        lessons_completed: {
          points: points([0, 0, 0, 1, 0, 1, 2]),
          summary: { count: 7, sum: 4, min: 0, max: 2, mean: 0.57, median: 0, p95: 1.7, p99: 1.94, std_dev: 0.73, slope_per_bucket: 0.29, change_pct: null },
        },
        assessments_submitted: {
          points: points([0, 0, 0, 0, 0, 1, 1]),
          summary: { count: 7, sum: 2, min: 0, max: 1, mean: 0.29, median: 0, p95: 1, p99: 1, std_dev: 0.45, slope_per_bucket: 0.18, change_pct: null },
        },
        avg_score: {
          points: points([null, null, null, null, null, 60, 90]), // e8 on 11-19, e3 on 11-20
          summary: { count: 2, sum: 150, min: 60, max: 90, mean: 75, median: 75, p95: 88.5, p99: 89.7, std_dev: 15, slope_per_bucket: 30, change_pct: null },
        },
      });
      expect(Object.keys(body.api_performance).sort()).toEqual(['error_rate', 'p50_ms', 'p95_ms', 'p99_ms', 'requests']);
    });

    it('uses 24 whole-UTC-hour buckets for 24h, the current hour last', async () => {
      const { body } = await get('statistics?period=24h').expect(200);
      expect(body.bucket).toBe('hour');
      expect(body.since).toBe('2026-11-19T16:00:00.000Z');
      const starts = Array.from({ length: 24 }, (_, i) => new Date(Date.parse('2026-11-19T16:00:00Z') + i * 3_600_000).toISOString());
      const active = Array<number>(24).fill(0);
      // 20:00 u4; 09:00 u1; 10:00 u3; 14:00 u5; 15:00 u3
      for (const i of [4, 17, 18, 22, 23]) active[i] = 1;
      expect(body.series.daily_active_users.points).toEqual(points(active, starts));
      // halves: hours 0–11 hold 1, hours 12–23 hold 4 → +300 %; σ = √(5/24 − (5/24)²) = 0.41
      expect(body.series.daily_active_users.summary).toEqual({ count: 24, sum: 5, min: 0, max: 1, mean: 0.21, median: 0, p95: 1, p99: 1, std_dev: 0.41, slope_per_bucket: 0.02, change_pct: 300 });
      expect(body.series.avg_score.summary).toMatchObject({ count: 1, sum: 90, min: 90, max: 90, mean: 90, std_dev: 0, slope_per_bucket: null, change_pct: null });
    });

    it('sums 30 and 90 days of history', async () => {
      const month = (await get('statistics?period=30d').expect(200)).body;
      expect(month.since).toBe('2026-10-22T00:00:00.000Z');
      expect(month.series.daily_active_users.points).toHaveLength(30);
      expect(month.series.new_users.summary.sum).toBe(5); // teacher, u3, u6, u4, u5
      expect(month.series.lessons_completed.summary.sum).toBe(5); // all but e18
      expect(month.series.assessments_submitted.summary.sum).toBe(3); // all but e17 (10-12)
      const quarter = (await get('statistics?period=90d').expect(200)).body;
      expect(quarter.since).toBe('2026-08-23T00:00:00.000Z');
      expect(quarter.series.lessons_completed.points).toHaveLength(90);
      expect(quarter.series.lessons_completed.summary.sum).toBe(6);
      expect(quarter.series.assessments_submitted.summary.sum).toBe(4);
      expect(quarter.series.new_users.summary.sum).toBe(8); // everyone but u0 (08-12)
      expect(quarter.series.content_created.summary.sum).toBe(6);
      expect(quarter.series.avg_score.summary).toMatchObject({ count: 4, sum: 275, min: 50, max: 90 }); // 50, 75, 60, 90
    });
  });

  describe('where the series are read from', () => {
    it('reads day buckets (7, 30 and 90 days, exports) from the per-day rollups, and only hour buckets from raw events', async () => {
      const raw = jest.spyOn(testApp.get(MetricsRepository), 'activitySeries');
      const rollups = jest.spyOn(testApp.get(RollupsRepository), 'dailySeries');
      try {
        // The earlier specs' answers are cached; this one needs them computed.
        await http(testApp).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${a.admin.token}`).expect(200);
        const quarter = (await get('statistics?period=90d').expect(200)).body;
        expect(quarter.series.lessons_completed.summary.sum).toBe(6);
        await get('statistics?period=30d').expect(200);
        await get('statistics?period=7d').expect(200);
        for (const format of ['json', 'csv', 'xlsx']) {
          await http(testApp).post('/api/v1/metrics/export').set('Authorization', `Bearer ${a.admin.token}`).send({ format, date_range: '90d' }).expect(200);
        }
        expect(raw).not.toHaveBeenCalled();
        expect(rollups.mock.calls.map(([organizationId, window]) => [organizationId, window.buckets])).toEqual([
          [a.organizationId, 90],
          [a.organizationId, 30],
          [a.organizationId, 7],
          [a.organizationId, 90],
          [a.organizationId, 90],
          [a.organizationId, 90],
        ]);
        // 24 hours are hour buckets, which the rollups do not hold.
        await get('statistics?period=24h').expect(200);
        expect(raw.mock.calls.map(([organizationId, window]) => [organizationId, window.bucketSeconds, window.buckets])).toEqual([[a.organizationId, 3600, 24]]);
      } finally {
        raw.mockRestore();
        rollups.mockRestore();
      }
    });

    it("answers top content from the completed-lessons index alone, which no other event's insert writes to", async () => {
      const query = jest.spyOn(EntityManager.prototype, 'query');
      let sql: string;
      let params: unknown[];
      try {
        const since = new Date(NOW.getTime() - 168 * 3_600_000);
        expect(await testApp.get(MetricsRepository).topContent(a.organizationId, since, NOW, 10)).not.toHaveLength(0);
        [sql, params] = query.mock.calls.find(([text]) => /type = 'lesson_completed'/.test(text)) as [string, unknown[]];
      } finally {
        query.mockRestore();
      }
      // Statistics as autovacuum keeps them. Without this the worker's database may hold statistics taken before these
      // rows (another spec's seed runs ANALYZE): the planner then expects one row and reads the content index for its order.
      await testApp.dataSource.query('VACUUM (ANALYZE) activity_events');
      // With every other way to read the events made dear, a plan that still needs the table would show it.
      const runner = testApp.dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        await runner.query('SET LOCAL enable_seqscan = off');
        await runner.query('SET LOCAL enable_bitmapscan = off');
        const [{ 'QUERY PLAN': plan }] = await runner.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
        const scans: { 'Node Type': string; 'Index Name'?: string; 'Relation Name'?: string }[] = [];
        const walk = (node: { Plans?: unknown[] } & (typeof scans)[number]) => {
          if (node['Relation Name']?.startsWith('activity_events')) scans.push(node);
          (node.Plans ?? []).forEach((child) => walk(child as typeof node));
        };
        walk(plan[0].Plan);
        // Each month's part of the partitioned index (their names are cut to 63 characters).
        const parts = (await runner.query(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'events_org_completed_content_idx'::regclass`)) as { name: string }[];
        expect(scans.length).toBeGreaterThan(0);
        const names = parts.map((part) => part.name);
        expect(scans.map((scan) => [scan['Node Type'], scan['Index Name'], names.includes(scan['Index Name'] ?? '')])).toEqual(
          scans.map((scan) => ['Index Only Scan', scan['Index Name'], true]),
        );
        // Events that are not lesson completions with content are not in it.
        const [{ predicate }] = await runner.query(`SELECT pg_get_expr(indpred, indrelid) AS predicate FROM pg_index WHERE indexrelid = 'events_org_completed_content_idx'::regclass`);
        expect(predicate).toBe(`((type = 'lesson_completed'::text) AND (content_id IS NOT NULL))`);
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    });
  });

  describe('an organization without data', () => {
    it('answers zero-filled series, empty lists and null where nothing is defined', async () => {
      const empty = await signup(testApp); // its admin was created at the real time, after the pinned clock
      const activity = figures((await get('activity?hours=2', empty.token).expect(200)).body);
      expect(activity).toEqual({
        organization_id: empty.organization.id,
        window_hours: 2,
        since: '2026-11-20T14:00:00.000Z',
        recent_lessons: 0,
        recent_assessments: 0,
        recent_sessions: 0,
        new_users: 0,
        content_published: 0,
        hourly: [
          { hour: '2026-11-20T14:00:00.000Z', events: 0 },
          { hour: '2026-11-20T15:00:00.000Z', events: 0 },
        ],
        top_content: [],
        recent_events: [],
      });
      const statistics = (await get('statistics?period=7d', empty.token).expect(200)).body;
      const zeros = { count: 7, sum: 0, min: 0, max: 0, mean: 0, median: 0, p95: 0, p99: 0, std_dev: 0, slope_per_bucket: 0, change_pct: null };
      expect(statistics.series.daily_active_users).toEqual({ points: points([0, 0, 0, 0, 0, 0, 0]), summary: zeros });
      expect(statistics.series.lessons_completed.summary).toEqual(zeros);
      expect(statistics.series.avg_score).toEqual({
        points: points([null, null, null, null, null, null, null]),
        summary: { count: 0, sum: 0, min: null, max: null, mean: null, median: null, p95: null, p99: null, std_dev: null, slope_per_bucket: null, change_pct: null },
      });
    });
  });
});
