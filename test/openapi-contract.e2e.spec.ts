import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function operations(document: Json): { path: string; method: string; operation: Json }[] {
  return Object.entries(document.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ path, method, operation: item[method] as Json })),
  );
}

/** Every object in the document, with its JSON path, to look for forbidden shapes anywhere. */
function* walk(node: unknown, at = '$'): Generator<[string, Json]> {
  if (!node || typeof node !== 'object') return;
  if (!Array.isArray(node)) yield [at, node as Json];
  for (const [key, value] of Object.entries(node)) yield* walk(value, `${at}.${key}`);
}

/** A value of the schema's type, as a client author would write from the document (required properties only, bounds respected). */
function sample(schema: Json, document: Json, depth = 0): unknown {
  if (depth > 8) return undefined;
  if (schema.$ref) return sample(resolveRef(document, schema.$ref), document, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (schema.oneOf) return sample(schema.oneOf[0], document, depth + 1);
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: schema.minItems ?? 1 }, () => sample(schema.items ?? {}, document, depth + 1));
    case 'object':
    case undefined:
      return Object.fromEntries(((schema.required as string[]) ?? []).map((name) => [name, sample(schema.properties?.[name] ?? {}, document, depth + 1)]));
    default:
      if (schema.format === 'uuid') return '0b9d6f4e-5f8a-4c1e-9a57-3d2f1c0e8b7a';
      if (schema.format === 'date-time') return '2026-01-01T00:00:00.000Z';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

function resolveRef(document: Json, ref: string): Json {
  return ref
    .slice(2)
    .split('/')
    .reduce((node: Json, key) => node[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

/** One openapi-fetch call per operation, every documented query parameter given a value of its documented type. */
function clientCalls(document: Json): string {
  return operations(document)
    .map(({ path, method, operation }) => {
      const parameters = (operation.parameters ?? []) as Json[];
      const group = (where: string) => Object.fromEntries(parameters.filter((p) => p.in === where).map((p) => [p.name, sample(p.schema, document)]));
      const options: Json = {};
      const params: Json = {};
      if (parameters.some((p) => p.in === 'query')) params.query = group('query');
      if (parameters.some((p) => p.in === 'path')) params.path = group('path');
      // Required headers (X-Experience-API-Version on the xAPI statements resource) are part of a typed call too.
      if (parameters.some((p) => p.in === 'header' && p.required)) params.header = Object.fromEntries(parameters.filter((p) => p.in === 'header' && p.required).map((p) => [p.name, sample(p.schema, document)]));
      if (Object.keys(params).length > 0) options.params = params;
      const body = operation.requestBody?.content?.['application/json']?.schema;
      if (body) options.body = sample(body, document);
      const argument = Object.keys(options).length > 0 ? `, ${JSON.stringify(options)}` : '';
      return `void client.${method.toUpperCase()}(${JSON.stringify(path)}${argument});`;
    })
    .join('\n');
}

describe('the OpenAPI document, as tools nobody here wrote read it', () => {
  let app: TestApp;
  let document: Json;
  let workdir: string;
  beforeAll(async () => {
    app = await createTestApp();
    document = (await http(app).get('/openapi.json').expect(200)).body;
    workdir = mkdtempSync(join(tmpdir(), 'openapi-contract-'));
    writeFileSync(join(workdir, 'openapi.json'), JSON.stringify(document));
  });
  afterAll(async () => {
    rmSync(workdir, { recursive: true, force: true });
    await app.close();
  });

  it('is OpenAPI 3.1 with servers, defined tags, and a description on every operation', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    const defined = (document.tags as Json[]).map((tag) => tag.name);
    for (const tag of document.tags as Json[]) expect(tag.description).toEqual(expect.any(String));
    for (const { path, method, operation } of operations(document)) {
      expect([`${method} ${path}`, operation.description?.length > 0]).toEqual([`${method} ${path}`, true]);
      for (const tag of operation.tags ?? []) expect(defined).toContain(tag);
    }
  });

  it('types integer query parameters as integers with their bounds', () => {
    const query = (path: string, name: string) => (document.paths[path].get.parameters as Json[]).find((p) => p.name === name && p.in === 'query')?.schema;
    expect(query('/api/v1/metrics/activity', 'hours')).toEqual(expect.objectContaining({ type: 'integer', minimum: 1, maximum: 168, default: 24 }));
    expect(query('/api/v1/metrics/activity', 'limit')).toEqual(expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 20 }));
    expect(query('/api/v1/users', 'limit')).toEqual(expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 50 }));
    expect(query('/api/v1/content', 'limit')).toEqual(expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 50 }));
    for (const { operation } of operations(document)) {
      for (const parameter of (operation.parameters ?? []) as Json[]) expect([parameter.name, parameter.schema.type ?? parameter.schema.$ref]).not.toEqual([parameter.name, 'object']);
    }
  });

  it('lets null validate wherever a field is nullable: no nullable keyword, no allOf beside one', () => {
    const offenders = [...walk(document)].filter(([, node]) => 'nullable' in node).map(([at]) => at);
    expect(offenders).toEqual([]);
    const content = document.components.schemas.RecentEventResponse.properties.content;
    expect(content).toEqual({ oneOf: [{ $ref: '#/components/schemas/EventContentResponse' }, { type: 'null' }] });
    expect(document.components.schemas.UserResponse.properties.last_login_at.type).toEqual(['string', 'null']);
    expect(document.components.schemas.ProblemResponse.properties.correlation_id.type).toEqual(['string', 'null']);
  });

  it('documents every error under application/problem+json with an example of its own status, and every status the service can answer', () => {
    for (const { path, method, operation } of operations(document)) {
      const statuses = Object.keys(operation.responses);
      expect([method, path, statuses]).toEqual([method, path, expect.arrayContaining(['400', '408', '413', '431', '500', '508'])]);
      if (path.startsWith('/api/')) expect([method, path, statuses]).toEqual([method, path, expect.arrayContaining(['503', ...(operation.security ? ['401'] : [])])]);
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
        if (Number(status) < 400) continue;
        expect(Object.keys(response.content)).toEqual(['application/problem+json']);
        expect(response.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/ProblemResponse' });
        expect(response.content['application/problem+json'].example).toEqual(expect.objectContaining({ status: Number(status) }));
      }
    }
    expect(document.paths['/health/ready'].get.responses['503'].content['application/problem+json'].example.title).toBe('Service Unavailable');
    expect(document.paths['/api/v1/metrics/dashboard'].get.responses['500'].content['application/problem+json'].example.title).toBe('Internal Server Error');
  });

  it('renders the metrics token literally (in code), not as an HTML tag', () => {
    expect(document.paths['/metrics'].get.description).toContain('`Authorization: Bearer <METRICS_TOKEN>`');
  });

  it('passes spectral’s oas ruleset with no error, warning, info or hint', async () => {
    writeFileSync(join(workdir, '.spectral.json'), JSON.stringify({ extends: ['spectral:oas'] }));
    const { stdout } = await run(bin('spectral'), ['lint', join(workdir, 'openapi.json'), '--ruleset', join(workdir, '.spectral.json'), '--format', 'json', '--fail-severity', 'hint', '--quiet'], {
      cwd: workdir,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(JSON.parse(stdout.slice(stdout.indexOf('[')))).toEqual([]);
  }, 120_000);

  it('gives openapi-typescript types that a client calling every endpoint with its documented parameters type-checks against', async () => {
    await run(bin('openapi-typescript'), [join(workdir, 'openapi.json'), '--output', join(workdir, 'schema.d.ts')], { cwd: workdir });
    const header = `import createClient from 'openapi-fetch';\nimport type { paths } from './schema';\nconst client = createClient<paths>({ baseUrl: 'http://127.0.0.1' });\n`;
    writeFileSync(
      join(workdir, 'client.ts'),
      header +
        // The calls the first report of this document failed on, written as a user would.
        `void client.GET('/api/v1/users', { params: { query: { limit: 5, role: 'teacher' } } });\n` +
        `void client.GET('/api/v1/metrics/activity', { params: { query: { hours: 24, limit: 20 } } });\n` +
        `void client.GET('/api/v1/metrics/activity').then(({ data }) => data?.recent_events.map((event) => event.content?.title ?? null));\n` +
        clientCalls(document),
    );
    // The same client with a number where the document says text: proves the check can fail.
    writeFileSync(join(workdir, 'wrong.ts'), header + `void client.GET('/api/v1/metrics/activity', { params: { query: { hours: 'many' } } });\n`);
    const tsconfig = (files: string[]) => ({
      compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', skipLibCheck: true, types: [], paths: { 'openapi-fetch': [join(ROOT, 'node_modules', 'openapi-fetch')] } },
      files,
    });
    writeFileSync(join(workdir, 'tsconfig.json'), JSON.stringify(tsconfig(['client.ts'])));
    writeFileSync(join(workdir, 'tsconfig.wrong.json'), JSON.stringify(tsconfig(['wrong.ts'])));
    const good = await run(bin('tsc'), ['-p', join(workdir, 'tsconfig.json')], { cwd: workdir }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(good).toBe('');
    const wrong = await run(bin('tsc'), ['-p', join(workdir, 'tsconfig.wrong.json')], { cwd: workdir }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(wrong).toContain("Type 'string' is not assignable to type 'number'");
  }, 180_000);

  describe('the response validator every e2e spec runs', () => {
    const headers = (contentType?: string) => ({ statusCode: 0, getHeader: (name: string) => (name.toLowerCase() === 'content-type' ? contentType : undefined) });
    const check = (method: string, url: string, status: number, contentType: string | undefined, body?: unknown) => {
      const problems = app.responses.check(method, url, { ...headers(contentType), statusCode: status }, body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
      app.responses.violations.splice(0);
      return problems;
    };

    it('has checked the responses of this file so far, and each passed', async () => {
      const admin = await signup(app);
      await http(app).get('/api/v1/metrics/activity?hours=2').set('Authorization', `Bearer ${admin.token}`).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(app.responses.checked).toBeGreaterThanOrEqual(3);
      expect(app.responses.violations).toEqual([]);
    });

    it('flags an undocumented status, media type, body, path or method', () => {
      expect(check('GET', '/api/v1/users?limit=5', 418, 'application/problem+json', {})).toEqual([expect.stringContaining('status 418 is not documented for GET /api/v1/users')]);
      expect(check('GET', '/api/v1/users', 400, 'application/json', {})).toEqual([expect.stringContaining('content type not documented for 400')]);
      expect(check('GET', '/api/v1/users', 200, 'application/json', { items: [], next_cursor: 5 })).toEqual([expect.stringContaining('next_cursor')]);
      expect(check('GET', '/api/v1/users', 200, 'application/json', { items: [] })).toEqual([expect.stringContaining("must have required property 'next_cursor'")]);
      expect(check('GET', '/api/v1/undocumented', 200, 'application/json', {})).toEqual([expect.stringContaining('is not in the OpenAPI document')]);
      expect(check('PUT', '/api/v1/users', 201, 'application/json', {})).toEqual([expect.stringContaining('is not in the OpenAPI document')]);
    });

    it('accepts what the document says, nulls included, and checks non-JSON media by type', () => {
      expect(check('GET', '/api/v1/users', 200, 'application/json; charset=utf-8', { items: [], next_cursor: null })).toEqual([]);
      expect(check('GET', '/nowhere', 404, 'application/problem+json', { type: 'https://toolbox-metrics.dev/problems/not-found', title: 'Not Found', status: 404, detail: 'd', instance: '/nowhere', correlation_id: null })).toEqual([]);
      expect(check('POST', '/api/v1/metrics/export', 200, 'text/csv; charset=utf-8', 'bucket_start\n')).toEqual([]);
      expect(check('POST', '/api/v1/metrics/export', 200, 'text/html', '<p>')).toEqual([expect.stringContaining('content type not documented for 200')]);
      expect(check('GET', '/metrics', 200, 'text/plain; version=0.0.4; charset=utf-8', 'x 1\n')).toEqual([]);
    });
  });
});
