import type { AddressInfo } from 'node:net';
import { LIVE_WINDOW_MS, measureIngestion } from '../bench/ingestion';
import { measureLoginFlood } from '../bench/login-flood';
import { measureStreams } from '../bench/streams';
import { createBenchApiKey, measureXapiIngestion, XAPI_BATCH } from '../bench/xapi-ingestion';
import { createUser, http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { databaseUrl, workerDatabaseName } from './support/test-env';

/** The benchmark's phases that write or log in, on a tiny scale against the real service: what they send and count is right. */
describe('bench phases', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } });
    await app.app.listen(0, '127.0.0.1');
  });
  afterAll(() => app.close());

  it('sends batches of 1,000 new events of the given users, dated in the live window, and counts what was accepted', async () => {
    const admin = await signup(app);
    const users = [await createUser(app, admin.token), await createUser(app, admin.token), await createUser(app, admin.token)];
    const base = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    const started = Date.now();
    const result = await measureIngestion(base, admin.token, users.map((user) => user.id), 3, 2, 5);
    expect(result).toMatchObject({ events: 3000, batches: 3, concurrency: 2 });
    // The rate is of the accepted events over the timed seconds (reported to two decimals).
    expect(Math.abs(result.events_per_second * result.seconds - 3000)).toBeLessThanOrEqual(result.events_per_second * 0.005 + 1);
    const [stored] = await app.dataSource.query(
      `SELECT count(*)::int AS events, count(DISTINCT user_id)::int AS users, min(occurred_at) AS oldest, max(occurred_at) AS newest,
              count(*) FILTER (WHERE type = 'session' AND duration_seconds IS NULL)::int AS sessions_without_duration
         FROM activity_events WHERE organization_id = $1`,
      [admin.organization.id],
    );
    expect(stored).toMatchObject({ events: 3000, users: 3, sessions_without_duration: 0 });
    expect(stored.oldest.getTime()).toBeGreaterThanOrEqual(started - LIVE_WINDOW_MS - 1000);
    expect(stored.newest.getTime()).toBeLessThanOrEqual(Date.now());
    // A second run sends new ids: nothing is counted as a duplicate, so every event of it is accepted again.
    expect((await measureIngestion(base, admin.token, [users[0].id], 1, 1, 5)).events).toBe(1000);
  });

  it('floods login with wrong passwords for a real account, counts each answer, and probes /health/live meanwhile', async () => {
    const admin = await signup(app);
    const base = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    const result = await measureLoginFlood(base, admin.user.email, 12, 4);
    // With the limits off (as the bench runs) each login is hashed and refused; four at a time never fill the queue.
    expect(result).toMatchObject({ logins: 12, concurrency: 4, statuses: { '401': 12 } });
    expect(result.live.samples).toBeGreaterThan(0);
    expect(result.live.p50_ms).toBeLessThanOrEqual(result.live.p95_ms);
    expect(result.live.p95_ms).toBeLessThanOrEqual(result.live.max_ms);
    // The account itself still logs in: the flood's answers were the wrong password's, not a lock.
    await http(app).post('/api/v1/auth/login').send({ email: admin.user.email, password: 'correct horse battery' }).expect(200);
  });

  it('holds streams open while it writes, and times each write to the first dashboard event that includes it', async () => {
    const admin = await signup(app);
    const users = [await createUser(app, admin.token), await createUser(app, admin.token)];
    const base = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    const result = await measureStreams(base, admin.token, users.map((user) => user.id), process.pid, 4, 3, 60);
    expect(result).toMatchObject({ streams: 4, writes: 3, events_per_write: 60, missed_dashboard_events: 0 });
    // One activity event a write reached every stream; every write's lessons reached the sampled stream's figures.
    expect(result.activity_events_per_stream).toBe(3);
    expect(result.dashboard_events_per_stream).toBeGreaterThanOrEqual(1);
    expect(Number.isFinite(result.write_to_event_ms.max)).toBe(true);
    expect(result.write_to_event_ms.p50).toBeLessThanOrEqual(result.write_to_event_ms.max);
    // 3 writes × 60 events, a third of them lessons: what the sampled stream's last figures count.
    const [stored] = await app.dataSource.query(`SELECT count(*)::int AS lessons FROM activity_events WHERE organization_id = $1 AND type = 'lesson_completed'`, [
      admin.organization.id,
    ]);
    expect(stored.lessons).toBe(60);
  });

  it('stores every statement it sends and turns the mapped ones into events', async () => {
    const admin = await signup(app);
    const key = await createBenchApiKey(databaseUrl(workerDatabaseName()), admin.organization.id);
    const base = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    const result = await measureXapiIngestion(base, key, 50, 2, 2, 7);
    expect(result).toMatchObject({ statements: 2 * XAPI_BATCH, batches: 2, concurrency: 2 });
    expect(result.statements_per_second).toBeGreaterThan(0);
    const [counts] = await app.dataSource.query(
      `SELECT (SELECT count(*)::int FROM xapi_statements WHERE organization_id = $1) AS statements,
              (SELECT count(*)::int FROM xapi_statements WHERE organization_id = $1 AND event_id IS NOT NULL) AS mapped,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1) AS events,
              (SELECT count(*)::int FROM users WHERE organization_id = $1 AND external_id LIKE 'https://bench.example|learner-%') AS learners`,
      [admin.organization.id],
    );
    expect(counts.statements).toBe(2 * XAPI_BATCH);
    expect(counts.events).toBe(counts.mapped);
    // One verb in six is stored without an event.
    expect(counts.mapped).toBeGreaterThan(0.7 * 2 * XAPI_BATCH);
    expect(counts.mapped).toBeLessThan(2 * XAPI_BATCH);
    expect(counts.learners).toBeGreaterThan(40);
    expect(counts.learners).toBeLessThanOrEqual(50);
  });
});
