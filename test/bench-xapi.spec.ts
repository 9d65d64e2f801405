import type { AddressInfo } from 'node:net';
import { createBenchApiKey, measureXapiIngestion, XAPI_BATCH } from '../bench/xapi-ingestion';
import { signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { databaseUrl, workerDatabaseName } from './support/test-env';

/** The benchmark's xAPI phase on a tiny scale: its key, its statements and its counting are right. */
describe('bench xAPI ingestion phase', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } });
    await app.app.listen(0, '127.0.0.1');
  });
  afterAll(() => app.close());

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
