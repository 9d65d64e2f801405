import { createServer, connect, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createContent, createUser, event, http, signup, SignedUp } from './support/factories';
import { loadConfig } from '../src/config/app-config';
import { createTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';
import { ADMIN_DATABASE_URL, workerDatabaseName } from './support/test-env';

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

function expectProblem(response: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, detail?: string) {
  expect(response.headers['content-type']).toBe(PROBLEM_JSON);
  expect(response.body.status).toBe(status);
  expect(response.body.correlation_id).toBe(response.headers['x-correlation-id']);
  expect(typeof response.body.correlation_id).toBe('string');
  if (detail) expect(response.body.detail).toBe(detail);
  expect(JSON.stringify(response.body)).not.toMatch(/\bat \w+ \(|SELECT|INSERT|UPDATE /);
}

describe('errors and bad input', () => {
  let app: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
  });
  afterAll(() => app.close());

  const auth = () => ({ Authorization: `Bearer ${admin.token}` });

  it('answers 404 problem+json for an unknown route, authenticated or not', async () => {
    const anonymous = await http(app).get('/api/v1/nope').expect(404);
    expectProblem(anonymous, 404, 'Cannot GET /api/v1/nope');
    // Outside the API prefix the same wording, from the fallback after the routes.
    expectProblem(await http(app).get('/nope').expect(404), 404, 'Cannot GET /nope');
    expect(anonymous.body).toMatchObject({ type: 'https://toolbox-metrics.dev/problems/not-found', title: 'Not Found', instance: '/api/v1/nope' });
    const wrongMethod = await http(app).put('/api/v1/users').set(auth()).send({}).expect(404);
    expectProblem(wrongMethod, 404, 'Cannot PUT /api/v1/users');
  });

  it('rejects __proto__, constructor and prototype keys like any unknown field, naming them, and writes nothing', async () => {
    const email = `proto.${Date.now()}@example.test`;
    const raw = `{"email":"${email}","name":"Proto","role":"student","__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}}}`;
    const response = await http(app).post('/api/v1/users').set(auth()).set('Content-Type', 'application/json').send(raw).expect(400);
    expectProblem(response, 400);
    expect(response.body.errors).toEqual([
      { field: '__proto__', message: 'property __proto__ should not exist' },
      { field: 'constructor', message: 'property constructor should not exist' },
    ]);
    const [{ count }] = await app.dataSource.query(`SELECT count(*)::int AS count FROM users WHERE email = $1`, [email]);
    expect(count).toBe(0);
    const nested = `{"events":[{"type":"login","user_id":"${admin.user.id}","occurred_at":"${new Date().toISOString()}","__proto__":{"score":1}}]}`;
    const events = await http(app).post('/api/v1/events').set(auth()).set('Content-Type', 'application/json').send(nested).expect(400);
    expect(events.body.errors).toEqual([{ field: 'events[0].__proto__', message: 'property __proto__ should not exist' }]);
    const query = await http(app).get('/api/v1/users?__proto__=1').set(auth()).expect(400);
    expect(query.body.errors).toEqual([{ field: '__proto__', message: 'property __proto__ should not exist' }]);
  });

  it('answers 413 for a body over the limit', async () => {
    const response = await http(app)
      .post('/api/v1/events')
      .set(auth())
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ events: [{ padding: 'x'.repeat(app.config.BODY_LIMIT_BYTES) }] }))
      .expect(413);
    expectProblem(response, 413, 'The request body is too large');
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await http(app).post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email": "a@b.c", "password": ').expect(400);
    expectProblem(response, 400, 'The request body is not valid JSON');
  });

  it('answers 400 naming the parameter for a malformed UUID in a path', async () => {
    for (const path of ['/api/v1/users/123', "/api/v1/content/1'%20OR%20'1'='1", '/api/v1/content/00000000-0000-0000-0000-00000000000g']) {
      const response = await http(app).patch(path).set(auth()).send({ title: 'x' }).expect(400);
      expectProblem(response, 400, 'The path id is not a UUID');
      expect(response.body.errors).toEqual([{ field: 'id', message: 'id must be a UUID' }]);
    }
    const deletion = await http(app).delete('/api/v1/content/not-a-uuid').set(auth()).expect(400);
    expectProblem(deletion, 400);
  });

  it('answers wrong types, huge numbers, arrays for objects and control characters with 4xx, never 500', async () => {
    const user = await createUser(app, admin.token);
    const content = await createContent(app, admin.token);
    const cases: [string, string, unknown, number][] = [
      ['post', '/api/v1/users', { email: 42, name: ['x'], role: null }, 400],
      ['post', '/api/v1/users', [], 400],
      ['post', '/api/v1/users', 'just a string', 400],
      ['post', '/api/v1/content', { title: 'x', content_type: 'lesson', generation_time_ms: Number.MAX_SAFE_INTEGER * 1000 }, 400],
      ['post', '/api/v1/content', { title: 'x', content_type: 'lesson', generation_time_ms: '12' }, 400],
      ['post', '/api/v1/content', { title: 'x'.repeat(301), content_type: 'lesson' }, 400],
      ['post', '/api/v1/content', { title: { $gt: '' }, content_type: 'lesson' }, 400],
      ['post', '/api/v1/events', { events: [event(user.id, { score: 1e308 })] }, 400],
      ['post', '/api/v1/events', { events: [event(user.id, { duration_seconds: -5, type: 'session' })] }, 400],
      ['post', '/api/v1/events', { events: [event(user.id, { occurred_at: '2025-01-01T00:00:00Z\u0000' })] }, 400],
      ['post', '/api/v1/events', { events: [null, 5, 'x'] }, 400],
      ['post', '/api/v1/events', { events: { 0: event(user.id) } }, 400],
      ['patch', `/api/v1/content/${content.id}`, { status: 123 }, 400],
      ['get', '/api/v1/users?limit=1e400', undefined, 400],
      ['get', '/api/v1/users?limit=-1', undefined, 400],
      ['get', '/api/v1/users?limit=5&limit=6', undefined, 400],
      ['get', '/api/v1/content?cursor=%00%01', undefined, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const builder = (http(app) as unknown as Record<string, (path: string) => import('supertest').Test>)[method](path).set(auth());
      const response = body === undefined ? await builder : await builder.send(body as object);
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
      expectProblem(response, status);
    }
  });

  it('answers 400 for JSON nested thousands deep, on every route with a body', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    for (const [path, field] of [['/api/v1/users', 'email'], ['/api/v1/events', 'events'], ['/api/v1/auth/login', 'email'], ['/api/v1/content', 'title']]) {
      const response = await http(app).post(path).set(auth()).set('Content-Type', 'application/json').send(`{"${field}":${deep}}`);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expectProblem(response, 400, 'The request is nested too deeply');
      expect(response.body.errors).toEqual([{ field: 'body', message: 'body nests arrays or objects deeper than 32 levels' }]);
    }
    // Ordinary nesting is untouched: a batch of events is three levels deep.
    const user = await createUser(app, admin.token);
    await http(app).post('/api/v1/events').set(auth()).send({ events: [event(user.id)] }).expect(202);
  });

  it('stores unicode and control characters in text as given', async () => {
    const title = 'Ünïcödé 数学 🚀 \u0007bell\ttab';
    const created = await createContent(app, admin.token, { title });
    const [row] = await app.dataSource.query(`SELECT title FROM educational_content WHERE id = $1`, [created.id]);
    expect(row.title).toBe(title);
    const nul = await http(app).post('/api/v1/content').set(auth()).send({ title: 'nul\u0000byte', content_type: 'lesson' });
    expect(nul.status).toBe(400);
    expectProblem(nul, 400);
  });

  it('answers an oversized header or a broken Authorization header without a 500', async () => {
    const long = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${'a'.repeat(8000)}`);
    expect(long.status).toBe(401);
    const binary = await http(app).get('/api/v1/auth/me').set('Authorization', 'Bearer \u00ff\u00fe.x.y');
    expect(binary.status).toBe(401);
  });
});

/** A TCP proxy to PostgreSQL that the test can cut, as a network failure would. */
async function startProxy(): Promise<{ port: number; cut: () => Promise<void> }> {
  const target = new URL(ADMIN_DATABASE_URL);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe('database unreachable', () => {
  it('answers 503 problem+json, and /health/ready names the database', async () => {
    const proxy = await startProxy();
    const url = new URL(ADMIN_DATABASE_URL);
    url.port = String(proxy.port);
    url.pathname = `/${workerDatabaseName()}`;
    const app = await createTestApp({ env: { DATABASE_URL: url.toString() } });
    try {
      const account = await signup(app);
      await proxy.cut();

      const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${account.token}`).expect(503);
      expectProblem(me, 503, 'The database is unavailable; try again shortly');
      const login = await http(app).post('/api/v1/auth/login').send({ email: account.user.email, password: 'correct horse battery' }).expect(503);
      expectProblem(login, 503, 'The database is unavailable; try again shortly');
      const ready = await http(app).get('/health/ready').expect(503);
      expect(ready.body).toMatchObject({ status: 503, detail: 'Not ready: database unreachable', checks: { database: 'down', redis: 'up' } });
      await http(app).get('/health/live').expect(200, { status: 'ok' });
    } finally {
      await app.close();
    }
  });
});

describe('slow clients', () => {
  // Shorter than the 10 s / 30 s defaults so the test does not wait; the same code path.
  const HEADERS_MS = 600;
  const REQUEST_MS = 1500;
  let app: TestApp;
  let port: number;
  beforeAll(async () => {
    app = await createTestApp({ env: { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) } });
    await app.app.listen(0, '127.0.0.1');
    port = (app.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  /** Sends the given bytes and stops, then reads until the server closes the connection. */
  function trickle(bytes: string): Promise<{ text: string; elapsed: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket: Socket = connect(port, '127.0.0.1', () => socket.write(bytes));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve({ text, elapsed: Date.now() - started }));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000).unref();
    });
  }

  function expectTimeoutAnswer(text: string) {
    const [head, body] = text.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(head).toMatch(/^Content-Type: application\/problem\+json; charset=utf-8$/m);
    const correlationId = /^X-Correlation-ID: ([0-9a-f-]{36})$/m.exec(head)?.[1];
    expect(correlationId).toBeDefined();
    expect(head).toMatch(/^X-Request-ID: [0-9a-f-]{36}$/m);
    expect(JSON.parse(body)).toMatchObject({ status: 408, title: 'Request Timeout', detail: 'The request took too long to arrive', correlation_id: correlationId });
  }

  it('answers 408 with the correlation headers when the headers do not arrive in time', async () => {
    const { text, elapsed } = await trickle('GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expectTimeoutAnswer(text);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_MS - 50);
  });

  it('answers 408 when the body does not arrive in time', async () => {
    const { text, elapsed } = await trickle('POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"email":');
    expectTimeoutAnswer(text);
    expect(elapsed).toBeGreaterThanOrEqual(REQUEST_MS - 50);
  });

  it('uses 10 s for headers and 30 s for the whole request by default', () => {
    const defaults = loadConfig({ JWT_SECRET: TEST_JWT_SECRET } as NodeJS.ProcessEnv);
    expect([defaults.HTTP_HEADERS_TIMEOUT_MS, defaults.HTTP_REQUEST_TIMEOUT_MS]).toEqual([10_000, 30_000]);
  });
});
