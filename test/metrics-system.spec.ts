import { RequestMetrics } from '../src/observability/request-metrics';
import { RedisConnection } from '../src/redis/redis-connection';
import { SystemMetricsReader } from '../src/metrics/system-metrics.reader';
import { http, signup, SignedUp } from './support/factories';
import { NOW } from './support/metrics-fixture';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

const MINUTE = 60_000;

describe('system_metrics and api_performance', () => {
  const clock = new ManualClock(NOW.getTime() - 10 * MINUTE);
  let testApp: TestApp;
  let admin: SignedUp;

  beforeAll(async () => {
    testApp = await createTestApp({ clock });
    admin = await signup(testApp);
    await testApp.dataSource.query(`UPDATE organizations SET tier = 'enterprise' WHERE id = $1`, [admin.organization.id]);
    // Requests so far were recorded 10 minutes before NOW: out of the 5-minute window from here on.
    clock.set(NOW.getTime());
  });
  afterAll(() => testApp.close());

  const get = (path: string) => http(testApp).get(`/api/v1/metrics/${path}`).set('Authorization', `Bearer ${admin.token}`).expect(200);
  const record = (durations: number[], failing: number) =>
    durations.forEach((ms, i) => testApp.get(RequestMetrics).record('/probe', 'GET', i < failing ? 503 : 200, ms));

  it('reads p95 and error rate of the last 5 minutes, the pool and Redis memory', async () => {
    record([20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 1);
    const { body } = await get('dashboard?force_refresh=true');
    const pool = (testApp.dataSource.driver as unknown as { master: { totalCount: number } }).master;
    const info = await testApp.get(RedisConnection).client!.info('memory');
    const usedMb = Number(/used_memory:(\d+)/.exec(info)![1]) / 1024 / 1024;
    // cache_hit_rate belongs to the caching module's statistics (checked with a given source below).
    const { cache_hit_rate: _cacheHitRate, ...measured } = body.system_metrics;
    expect(measured).toEqual({
      api_response_time: 19, // nearest rank: the 19th of 20 sorted durations
      error_rate: 5, // 1 of 20 at ≥ 500
      database_connections: pool.totalCount,
      redis_memory_usage: expect.any(Number),
    });
    expect(body.system_metrics.database_connections).toBeGreaterThanOrEqual(1);
    expect(body.system_metrics.database_connections).toBeLessThanOrEqual(5); // DATABASE_POOL_SIZE of the test app
    expect(body.system_metrics.redis_memory_usage).toBeCloseTo(usedMb, 0);
  });

  it('gives statistics the same window: percentiles, error rate and request count', async () => {
    clock.advance(6 * MINUTE); // the dashboard call above leaves the window
    record([100, 10, 20, 30, 40, 50, 60, 70, 80, 90], 1);
    const { body } = await get('statistics?period=24h');
    expect(body.api_performance).toEqual({ p50_ms: 50, p95_ms: 100, p99_ms: 100, error_rate: 10, requests: 10 });
  });

  it('answers null for response time and error rate when no request was seen', async () => {
    clock.advance(6 * MINUTE);
    const { body } = await get('dashboard?force_refresh=true');
    expect(body.system_metrics.api_response_time).toBeNull();
    expect(body.system_metrics.error_rate).toBeNull();
  });

  it('takes cache_hit_rate from the caching module’s source when one is provided, rounded to two decimals', async () => {
    const reader = new SystemMetricsReader(
      testApp.get(RequestMetrics),
      testApp.dataSource,
      testApp.get(RedisConnection),
      { hitRatePct: () => 87.456 },
    );
    expect((await reader.read()).cache_hit_rate).toBe(87.46);
  });
});

describe('system_metrics without Redis', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp({ redis: false, clock: new ManualClock(NOW.getTime()) });
  });
  afterAll(() => testApp.close());

  it('reports redis_memory_usage as null', async () => {
    const admin = await signup(testApp);
    const { body } = await http(testApp).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${admin.token}`).expect(200);
    expect(body.system_metrics.redis_memory_usage).toBeNull();
  });
});

describe('system_metrics on the embedded PGlite', () => {
  let testApp: TestApp;
  beforeAll(async () => {
    testApp = await createTestApp({
      redis: false,
      clock: new ManualClock(NOW.getTime()),
      env: { DATABASE_URL: undefined, EMBEDDED_DATA_DIR: 'memory://', MIGRATIONS_RUN: 'true' },
    });
  }, 60_000);
  afterAll(() => testApp.close());

  it('counts its one session and computes the concurrent figure families over one connection', async () => {
    const admin = await signup(testApp);
    const { body } = await http(testApp).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${admin.token}`).expect(200);
    expect(body.system_metrics.database_connections).toBe(1);
    expect(body.user_metrics.total_users).toBe(1);
    expect(body.trends.days).toEqual(['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
    const statistics = await http(testApp).get('/api/v1/metrics/statistics?period=30d').set('Authorization', `Bearer ${admin.token}`).expect(200);
    expect(statistics.body.series.lessons_completed.points).toHaveLength(30);
    expect(statistics.body.series.lessons_completed.summary.sum).toBe(0);
  });
});
