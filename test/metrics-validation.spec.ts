import { http, signup, userWithRole } from './support/factories';
import { NOW } from './support/metrics-fixture';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

describe('metrics: bad input and roles', () => {
  let testApp: TestApp;
  let admin: string;
  let teacher: string;
  let student: string;

  beforeAll(async () => {
    testApp = await createTestApp({ clock: new ManualClock(NOW.getTime()) });
    const organization = await signup(testApp);
    await testApp.dataSource.query(`UPDATE organizations SET tier = 'enterprise' WHERE id = $1`, [organization.organization.id]);
    admin = organization.token;
    teacher = (await userWithRole(testApp, organization, 'teacher')).token;
    student = (await userWithRole(testApp, organization, 'student')).token;
  });
  afterAll(() => testApp.close());

  const get = (path: string, token = admin) => http(testApp).get(`/api/v1/metrics/${path}`).set('Authorization', `Bearer ${token}`);
  const exportFile = (body: object, token = admin) => http(testApp).post('/api/v1/metrics/export').set('Authorization', `Bearer ${token}`).send(body);

  it.each([
    ['activity?hours=0', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=169', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=abc', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=1.5', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=-3', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=1&hours=2', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=0x10', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?hours=1e2', 'hours', 'hours must be an integer from 1 to 168'],
    ['activity?limit=0', 'limit', 'limit must be an integer from 1 to 100'],
    ['activity?limit=101', 'limit', 'limit must be an integer from 1 to 100'],
    ['activity?limit=99999999999999999999', 'limit', 'limit must be an integer from 1 to 100'],
    ['statistics?period=1y', 'period', 'period must be one of: 24h, 7d, 30d, 90d'],
    ['statistics?period=', 'period', 'period must be one of: 24h, 7d, 30d, 90d'],
    ['dashboard?force_refresh=yes', 'force_refresh', 'force_refresh must be one of: true, false'],
    ['dashboard?force_refresh=1', 'force_refresh', 'force_refresh must be one of: true, false'],
  ])('GET %s → 400 naming %s', async (path, field, message) => {
    const response = await get(path).expect(400);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.body.status).toBe(400);
    expect(response.body.errors).toEqual([{ field, message }]);
  });

  it('rejects unknown query parameters', async () => {
    const response = await get('statistics?period=7d&bucket=week').expect(400);
    expect(response.body.errors).toEqual([{ field: 'bucket', message: 'property bucket should not exist' }]);
  });

  it.each([
    [{ format: 'pdf', date_range: '7d' }, [{ field: 'format', message: 'format must be one of: json, csv, xlsx, excel' }]],
    [{ format: 'csv', date_range: '1y' }, [{ field: 'date_range', message: 'date_range must be one of: 24h, 7d, 30d, 90d' }]],
    [{ format: 'csv' }, [{ field: 'date_range', message: 'date_range must be one of: 24h, 7d, 30d, 90d' }]],
    [{ format: 'csv', date_range: '7d', metric_types: ['users', 'money'] }, [{ field: 'metric_types', message: 'metric_types must be a non-empty array of distinct values from: users, content, engagement, system' }]],
    [{ format: 'csv', date_range: '7d', metric_types: [] }, [{ field: 'metric_types', message: 'metric_types must be a non-empty array of distinct values from: users, content, engagement, system' }]],
    [{ format: 'csv', date_range: '7d', metric_types: 'users' }, [{ field: 'metric_types', message: 'metric_types must be a non-empty array of distinct values from: users, content, engagement, system' }]],
    [{ format: 'csv', date_range: '7d', metric_types: ['users', 'users'] }, [{ field: 'metric_types', message: 'metric_types must be a non-empty array of distinct values from: users, content, engagement, system' }]],
    [{ format: 'csv', date_range: '7d', filename: 'x' }, [{ field: 'filename', message: 'property filename should not exist' }]],
  ])('POST /metrics/export %j → 400 naming the field and the allowed values', async (body, errors) => {
    const response = await exportFile(body).expect(400);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.body.errors).toEqual(errors);
  });

  it('answers a student 403 on every metrics endpoint, a teacher 200', async () => {
    for (const path of ['dashboard', 'activity', 'statistics']) {
      const denied = await get(path, student).expect(403);
      expect(denied.body.status).toBe(403);
      await get(path, teacher).expect(200);
    }
    await exportFile({ format: 'json', date_range: '7d' }, student).expect(403);
    await exportFile({ format: 'json', date_range: '7d' }, teacher).expect(200);
  });

  it('answers 401 without a token', async () => {
    await http(testApp).get('/api/v1/metrics/dashboard').expect(401);
  });

  it('documents every metrics endpoint in /openapi.json and serves ReDoc from the package', async () => {
    const { body } = await http(testApp).get('/openapi.json').expect(200);
    for (const path of ['/api/v1/metrics/dashboard', '/api/v1/metrics/activity', '/api/v1/metrics/statistics']) {
      expect(Object.keys(body.paths[path].get.responses).sort()).toEqual(['200', '400', '401', '403', '408', '413', '429', '431', '500', '503', '508']);
    }
    expect(body.paths['/api/v1/metrics/activity'].get.parameters.map((parameter: { name: string }) => parameter.name).sort()).toEqual(['hours', 'limit']);
    expect(Object.keys(body.paths['/api/v1/metrics/export'].post.responses['200'].content).sort()).toEqual([
      'application/json',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'text/csv',
    ]);
    expect(body.components.schemas.DashboardResponse.required).toEqual(
      expect.arrayContaining(['timestamp', 'user_metrics', 'content_metrics', 'engagement_metrics', 'system_metrics', 'trends']),
    );
    const page = await http(testApp).get('/redoc').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<redoc spec-url="/openapi.json"></redoc>');
    expect(page.text).toContain('<script src="/redoc/redoc.standalone.js"></script>');
    const script = await http(testApp).get('/redoc/redoc.standalone.js').expect(200);
    expect(script.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(script.text.length).toBeGreaterThan(100_000);
  });
});
