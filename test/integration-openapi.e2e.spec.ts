import { http } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** The integration endpoints as the OpenAPI document describes them. */
describe('OpenAPI of API keys, roster import and xAPI', () => {
  let app: TestApp;
  let document: any;
  beforeAll(async () => {
    app = await createTestApp();
    document = (await http(app).get('/openapi.json').expect(200)).body;
  });
  afterAll(() => app.close());

  const operations = () =>
    Object.entries(document.paths as Record<string, Record<string, any>>)
      .filter(([path]) => /^\/api\/v1\/(api-keys|users\/import|xapi)/.test(path))
      .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));

  it('defines the API-key security schemes: bearer and HTTP Basic', () => {
    expect(document.components.securitySchemes.api_key).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.components.securitySchemes.api_key_basic).toMatchObject({ type: 'http', scheme: 'basic' });
  });

  it('documents every operation, with every error under application/problem+json', () => {
    const found = operations();
    expect(found.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()).toEqual([
      'DELETE /api/v1/api-keys/{id}',
      'GET /api/v1/api-keys',
      'GET /api/v1/xapi/about',
      'GET /api/v1/xapi/statements',
      'POST /api/v1/api-keys',
      'POST /api/v1/users/import',
      'POST /api/v1/xapi/statements',
      'PUT /api/v1/xapi/statements',
    ]);
    for (const { path, method, operation } of found) {
      expect({ path, method, description: typeof operation.description === 'string' && operation.description.length > 0 }).toEqual({ path, method, description: true });
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) < 400) continue;
        expect({ path, method, status, types: Object.keys(response.content ?? {}) }).toEqual({ path, method, status, types: ['application/problem+json'] });
      }
    }
  });

  it('names the accepted credentials of each operation', () => {
    const security = (path: string, method: string) => document.paths[path][method].security;
    expect(security('/api/v1/xapi/statements', 'post')).toEqual(expect.arrayContaining([{ api_key: [] }, { api_key_basic: [] }]));
    expect(security('/api/v1/users/import', 'post')).toEqual(expect.arrayContaining([{ bearer: [] }, { api_key: [] }]));
    expect(security('/api/v1/events', 'post')).toEqual(expect.arrayContaining([{ bearer: [] }, { api_key: [] }]));
    expect(security('/api/v1/api-keys', 'get')).toEqual([{ bearer: [] }]);
    expect(security('/api/v1/xapi/about', 'get')).toBeUndefined();
  });

  it('documents the roster import bodies (CSV and JSON) and the xAPI version header', () => {
    expect(Object.keys(document.paths['/api/v1/users/import'].post.requestBody.content).sort()).toEqual(['application/json', 'text/csv']);
    const header = document.paths['/api/v1/xapi/statements'].post.parameters.find((parameter: { name: string }) => parameter.name === 'X-Experience-API-Version');
    expect(header).toMatchObject({ in: 'header', required: true });
    expect(document.paths['/api/v1/xapi/statements'].post.responses['429']).toBeDefined();
  });
});
