import { http } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const BUDGET_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

describe('rate limits in the OpenAPI document', () => {
  let app: TestApp;
  let paths: Record<string, Record<string, { description?: string; responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }> }>>;
  beforeAll(async () => {
    app = await createTestApp();
    paths = (await http(app).get('/openapi.json').expect(200)).body.paths;
  });
  afterAll(() => app.close());

  it('states each limited endpoint’s limit, with the budget headers on its success and a 429 with Retry-After', () => {
    const dashboard = paths['/api/v1/metrics/dashboard'].get;
    expect(dashboard.description).toContain(
      '**Rate limit:** 10 requests a minute per user, times the organization\'s tier (free ×1, basic ×2, premium ×5, enterprise ×10).',
    );
    expect(Object.keys(dashboard.responses['200'].headers!)).toEqual(BUDGET_HEADERS);
    expect(Object.keys(dashboard.responses['429'].headers!)).toEqual(['Retry-After', ...BUDGET_HEADERS]);
    expect(dashboard.responses['429'].content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponse' }, example: expect.objectContaining({ status: 429, title: 'Too Many Requests', retry_after: expect.any(Number) }) },
    });

    expect(paths['/api/v1/metrics/export'].post.description).toContain('**Rate limit:** 10 requests an hour per user, times');
    expect(paths['/api/v1/auth/login'].post.description).toContain('**Rate limit:** 30 requests a minute per client IP address across e-mails on every tier.');
    expect(paths['/api/v1/auth/signup'].post.description).toContain('**Rate limit:** 100 requests a minute per IP address, times');
    expect(paths['/api/v1/users/{id}'].patch.description).toContain('**Rate limit:** 100 requests a minute per user, times');
  });

  it('gives unlimited endpoints neither a limit nor a 429', () => {
    for (const operation of [paths['/api/v1/metrics/invalidate-cache'].post, paths['/health/live'].get, paths['/metrics'].get]) {
      expect(operation.description ?? '').not.toContain('Rate limit');
      expect(operation.responses['429']).toBeUndefined();
    }
  });
});
