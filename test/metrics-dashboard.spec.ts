import { engagementScore } from '../src/metrics/engagement-score';
import { MetricsRepository } from '../src/metrics/metrics.repository';
import { http, signup } from './support/factories';
import { buildOrganization, FixtureOrganization, NOW, organizationA, organizationB } from './support/metrics-fixture';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

describe('GET /api/v1/metrics/dashboard', () => {
  let testApp: TestApp;
  let a: FixtureOrganization;
  let b: FixtureOrganization;

  beforeAll(async () => {
    testApp = await createTestApp({ clock: new ManualClock(NOW.getTime()) });
    a = await buildOrganization(testApp, organizationA());
    b = await buildOrganization(testApp, organizationB());
  });
  afterAll(() => testApp.close());

  const dashboard = (token: string) => http(testApp).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${token}`).expect(200);

  it("computes every figure of organization A from its rows, untouched by B's", async () => {
    const { body } = await dashboard(a.admin.token);
    expect(body.timestamp).toBe('2026-11-20T15:30:00.000Z');
    expect(body.organization_id).toBe(a.organizationId);
    expect(body.user_metrics).toEqual({
      total_users: 8, // admin, teacher, u0–u5 (u6 is deactivated)
      active_users: 4, // events in (11-19 15:30, 11-20 15:30]: u1, u3, u4, u5 (e19 is after now)
      new_users_today: 1, // u5
      growth_rate: -33.33, // created 11-14..11-20: u4, u5 = 2; 11-07..11-13: teacher, u3, u6 = 3 → (2 − 3) / 3
      user_retention: 25, // created before 10-22: admin, u0, u1, u2; with an event since 10-22: u1 → 1 / 4
    });
    expect(body.content_metrics).toEqual({
      total_content: 5, // c1, c2, c3, c4, c6 (c5 is deleted)
      published_content: 3, // c1, c4, c6
      draft_content: 1, // c2
      content_created_today: 2, // c2, c6
      avg_generation_time: 2.2, // created since 10-22 with a time: c1 1200, c2 3400, c5 2000 ms → 2200 ms
    });
    expect(body.engagement_metrics).toEqual({
      daily_active_users: 3, // today: u1, u3, u5
      avg_session_duration: 26.67, // sessions 11-14..now: 1800, 600, 2400 s → 1600 s
      total_lessons_completed: 6, // e2, e5, e7, e10, e14, e18
      total_assessments: 4, // e3, e8, e13, e17
      engagement_score: 43.1, // see the trend below, last day
    });
    expect(body.trends).toEqual({
      days: ['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20'],
      daily_active_users: [1, 0, 0, 1, 0, 2, 3],
      new_users: [0, 0, 0, 1, 0, 0, 1],
      content_created: [0, 1, 0, 0, 1, 0, 2], // c5 was created on 11-18 and deleted later: it was still created
      lessons_completed: [0, 0, 0, 1, 0, 1, 2],
      assessments_submitted: [0, 0, 0, 0, 0, 1, 1],
      // 11-14: S = (2/7)/2, D = 20/30 (one 1200 s session on 11-13), C = 0 → 100 × (0.0714 + 0.1667) = 23.8
      // 11-15, 11-16: the same windows' contents → 23.8
      // 11-17: S = (3/7)/2, D = min(1, 30/30), C = 1/(3×2) → 100 × (0.1071 + 0.25 + 0.0417) = 39.9
      // 11-18: unchanged → 39.9
      // 11-19: S = (5/7)/3, D = 1400 s / 60 / 30, C = 2/(3×3) → 100 × (0.1190 + 0.1944 + 0.0556) = 36.9
      // 11-20: S = (7/7)/4, D = 1600 s / 60 / 30, C = 4/(3×4) → 100 × (0.125 + 0.2222 + 0.0833) = 43.1
      engagement_score: [23.8, 23.8, 23.8, 39.9, 39.9, 36.9, 43.1],
    });
  });

  it("gives organization B its own figures from the same tables", async () => {
    const { body } = await dashboard(b.teacher.token);
    expect(body.organization_id).toBe(b.organizationId);
    // b2 (created 60 days ago) was active on 11-16 and 11-18; nobody was created in the 7 days before the last 7
    expect(body.user_metrics).toEqual({ total_users: 4, active_users: 1, new_users_today: 1, growth_rate: null, user_retention: 100 });
    expect(body.content_metrics).toEqual({ total_content: 1, published_content: 1, draft_content: 0, content_created_today: 1, avg_generation_time: 9 });
    expect(body.engagement_metrics).toEqual({
      daily_active_users: 1,
      avg_session_duration: 32.5, // (3600 + 300) / 2 s
      total_lessons_completed: 3,
      total_assessments: 1,
      // S = (3/7)/2 = 0.2143, D = min(1, 32.5/30) = 1, C = min(1, 3/(3×2)) = 0.5 → 100 × (0.1071 + 0.25 + 0.125) = 48.2
      engagement_score: 48.2,
    });
    expect(body.trends.daily_active_users).toEqual([0, 0, 1, 0, 1, 0, 1]);
  });

  it('gives the same figures from the raw-SQL baseline (MetricsRepository), family by family', async () => {
    const repository = testApp.get(MetricsRepository);
    const today = new Date('2026-11-20T00:00:00.000Z');
    expect(await repository.userFigures(a.organizationId, NOW, today)).toEqual({
      total_users: 8,
      new_users_today: 1,
      created_last_7_days: 2,
      created_previous_7_days: 3,
      retention_cohort: 4,
      retained: 1,
      active_last_24h: 4,
    });
    expect(await repository.contentFigures(a.organizationId, NOW, today)).toEqual({
      total_content: 5,
      published_content: 3,
      draft_content: 1,
      content_created_today: 2,
      avg_generation_ms: 2200,
    });
    expect(await repository.engagementFigures(a.organizationId, NOW, today)).toEqual({
      daily_active_users: 3,
      avg_session_seconds: 1600,
      total_lessons_completed: 6,
      total_assessments: 4,
    });
    const days = await repository.engagementDays(a.organizationId, NOW, today, 7);
    expect(days.map((day) => day.day.toISOString().slice(0, 10))).toEqual(['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
    expect(days[6]).toEqual({
      day: today,
      daily_active_users_sum_w7: 7, // 11-14 u1; 11-17 u3; 11-19 u4, u1; 11-20 u1, u3, u5
      active_users_w7: 4,
      active_users_w30: 4,
      sessions_w7: 3,
      session_seconds_w7: 4800,
      lessons_completed_w7: 4,
    });
    expect(
      days.map((day) =>
        engagementScore({
          dailyActiveUsersSumW7: day.daily_active_users_sum_w7,
          activeUsersW7: day.active_users_w7,
          activeUsersW30: day.active_users_w30,
          sessionsW7: day.sessions_w7,
          sessionSecondsW7: day.session_seconds_w7,
          lessonsCompletedW7: day.lessons_completed_w7,
        }),
      ),
    ).toEqual([23.8, 23.8, 23.8, 39.9, 39.9, 36.9, 43.1]);
  });

  it('answers null, not 0, where a figure is undefined (an empty organization)', async () => {
    const empty = await signup(testApp); // its admin was created at the real time, after the pinned clock
    const { body } = await dashboard(empty.token);
    expect(body.user_metrics).toEqual({ total_users: 1, active_users: 0, new_users_today: 0, growth_rate: null, user_retention: null });
    expect(body.content_metrics).toEqual({ total_content: 0, published_content: 0, draft_content: 0, content_created_today: 0, avg_generation_time: null });
    expect(body.engagement_metrics).toEqual({ daily_active_users: 0, avg_session_duration: null, total_lessons_completed: 0, total_assessments: 0, engagement_score: 0 });
    expect(body.trends.engagement_score).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(body.trends.new_users).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});
