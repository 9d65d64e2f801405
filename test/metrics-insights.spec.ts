import { forecast } from '../src/insights/forecast';
import { createUser, event, http, signup, userWithRole } from './support/factories';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

const DAY_MS = 86_400_000;
// A Friday afternoon: today (2026-11-20) is under way and is not judged.
const NOW = Date.parse('2026-11-20T15:30:00Z');
const TODAY = Date.parse('2026-11-20T00:00:00Z');
const dayOf = (offset: number) => new Date(TODAY + offset * DAY_MS).toISOString().slice(0, 10);

describe('GET /metrics/insights', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp({ clock: new ManualClock(NOW) });
  });
  afterAll(() => testApp.close());

  const get = (token: string, query = '') => http(testApp).get(`/api/v1/metrics/insights${query}`).set('Authorization', `Bearer ${token}`);

  it('flags a spike and a collapse of daily active users and forecasts the next 7 days from the same series', async () => {
    const admin = await signup(testApp);
    const learners = await Promise.all(Array.from({ length: 10 }, () => createUser(testApp, admin.token)));
    // 35 whole days before today: 6 learners active a day, except 10 seven days ago and 1 four days ago.
    const activeOn = (daysAgo: number) => (daysAgo === 7 ? 10 : daysAgo === 4 ? 1 : 6);
    const dau: number[] = [];
    const events = [];
    for (let daysAgo = 35; daysAgo >= 1; daysAgo--) {
      dau.push(activeOn(daysAgo));
      for (const learner of learners.slice(0, activeOn(daysAgo))) {
        events.push(event(learner.id, { occurred_at: new Date(TODAY - daysAgo * DAY_MS + 9 * 3_600_000).toISOString() }));
      }
    }
    await http(testApp).post('/api/v1/events').set('Authorization', `Bearer ${admin.token}`).send({ events }).expect(202);

    const response = await get(admin.token).expect(200);
    const body = response.body;
    expect(body.period).toBe('30d');
    expect(body.since).toBe(`${dayOf(-29)}T00:00:00.000Z`);
    expect(body.history_since).toBe(`${dayOf(-35)}T00:00:00.000Z`);
    expect(body.cache_metadata).toMatchObject({ cache_ttl: 300, cache_hit: false });
    // Seven days ago: the same weekday 14, 21, 28 and 35 days ago were 6, 6, 6, 6 (MAD 0, mean deviation 0: scale 1) → +4.
    // Four days ago: 11, 18, 25, 32 days ago were 6 each → 1 − 6 = −5.
    expect(body.series.daily_active_users.anomalies).toEqual([
      { day: dayOf(-7), value: 10, expected: 6, score: 4, direction: 'up' },
      { day: dayOf(-4), value: 1, expected: 6, score: -5, direction: 'down' },
    ]);
    for (const name of ['new_users', 'content_created', 'lessons_completed', 'assessments_submitted', 'avg_score']) {
      expect(body.series[name].anomalies).toEqual([]);
    }

    const expected = forecast(dau);
    const round2 = (value: number) => Math.round(Math.max(0, value) * 100) / 100;
    expect(body.series.daily_active_users.forecast).toEqual({
      method: 'holt_winters_additive',
      parameters: expected.parameters,
      sigma: Math.round((expected.sigma as number) * 100) / 100,
      points: expected.points.map((point, offset) => [dayOf(offset), round2(point.value), round2(point.low), round2(point.high)]),
    });
    for (const [, value, low, high] of body.series.daily_active_users.forecast.points) {
      expect(low).toBeLessThanOrEqual(value);
      expect(high).toBeGreaterThanOrEqual(value);
    }
    // No lesson was ever completed: a flat zero forecast; no assessment ever: no score to forecast.
    expect(body.series.lessons_completed.forecast.points).toEqual(Array.from({ length: 7 }, (_, offset) => [dayOf(offset), 0, 0, 0]));
    expect(body.series.avg_score.forecast).toEqual({ method: 'insufficient_history', parameters: null, sigma: null, points: [] });

    // Cached for 5 minutes like the other metrics; 90d looks back as far as the data goes.
    const again = await get(admin.token, '?period=30d').expect(200);
    expect(again.body.cache_metadata.cache_hit).toBe(true);
    expect(again.body.series).toEqual(body.series);
    const longer = await get(admin.token, '?period=90d').expect(200);
    expect(longer.body.since).toBe(`${dayOf(-89)}T00:00:00.000Z`);
    expect(longer.body.series.daily_active_users.anomalies).toEqual(body.series.daily_active_users.anomalies);

    // A metrics:read API key reads the same figures; a key without that scope is refused.
    const createKey = async (scopes: string[]) =>
      (await http(testApp).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'reports', scopes }).expect(201)).body.key as string;
    const byKey = (await get(await createKey(['metrics:read']), '?period=90d').expect(200)).body;
    expect(byKey.since).toBe(`${dayOf(-89)}T00:00:00.000Z`);
    expect(byKey.series.daily_active_users.anomalies).toEqual([
      { day: dayOf(-7), value: 10, expected: 6, score: 4, direction: 'up' },
      { day: dayOf(-4), value: 1, expected: 6, score: -5, direction: 'down' },
    ]);
    expect(byKey.series).toEqual(longer.body.series);
    const refusedKey = await get(await createKey(['events:write'])).expect(403);
    expect(refusedKey.body.detail).toBe('This API key lacks the metrics:read scope');
  });

  it('uses the seasonal naive forecast with under three weeks of history, and none with under one', async () => {
    const admin = await signup(testApp);
    const learner = await createUser(testApp, admin.token);
    const lessons = (daysAgo: number) => Array.from({ length: daysAgo % 3 }, () => event(learner.id, { type: 'lesson_completed', occurred_at: new Date(TODAY - daysAgo * DAY_MS + 3_600_000).toISOString() }));
    const events = Array.from({ length: 14 }, (_, index) => lessons(14 - index)).flat();
    // Day 14 ago has 14 % 3 = 2 lessons; history starts there. Also one login 14 days ago for the active-users series.
    events.push(event(learner.id, { occurred_at: new Date(TODAY - 14 * DAY_MS + 3_600_000).toISOString() }));
    await http(testApp).post('/api/v1/events').set('Authorization', `Bearer ${admin.token}`).send({ events }).expect(202);
    const body = (await get(admin.token).expect(200)).body;
    const history = Array.from({ length: 14 }, (_, index) => (14 - index) % 3);
    const naive = forecast(history);
    expect(naive.method).toBe('seasonal_naive');
    expect(body.series.lessons_completed.forecast).toEqual({
      method: 'seasonal_naive',
      parameters: null,
      sigma: Math.round((naive.sigma as number) * 100) / 100,
      points: naive.points.map((point, offset) => [dayOf(offset), point.value, Math.round(Math.max(0, point.low) * 100) / 100, Math.round(point.high * 100) / 100]),
    });

    const fresh = await signup(testApp);
    const empty = (await get(fresh.token, '?period=90d').expect(200)).body;
    expect(empty.history_since).toBeNull();
    expect(empty.series.daily_active_users).toEqual({ anomalies: [], forecast: { method: 'insufficient_history', parameters: null, sigma: null, points: [] } });
  });

  it('answers 400 naming the allowed periods, 403 to a student, 401 without a token', async () => {
    const admin = await signup(testApp);
    const refused = await get(admin.token, '?period=7d').expect(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.errors).toEqual([{ field: 'period', message: 'period must be one of: 30d, 90d' }]);
    const student = await userWithRole(testApp, admin, 'student');
    await get(student.token).expect(403);
    await http(testApp).get('/api/v1/metrics/insights').expect(401);
    const teacher = await userWithRole(testApp, admin, 'teacher');
    const ok = await get(teacher.token).expect(200);
    expect(ok.headers['x-ratelimit-limit']).toBe('30');
  });
});
