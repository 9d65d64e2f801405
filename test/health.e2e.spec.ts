import { createTestApp, TestApp } from './support/test-app';
import { http } from './support/factories';

describe('health', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('reports live and ready with PostgreSQL and Redis up', async () => {
    await http(app).get('/health/live').expect(200, { status: 'ok' });
    const ready = await http(app).get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up' }, replicas: [] });
  });
});
