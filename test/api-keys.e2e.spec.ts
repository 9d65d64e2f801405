import { randomBytes } from 'node:crypto';
import { createUser, http, signup, SignedUp, userWithRole } from './support/factories';
import { createTestApp, ManualClock, TestApp } from './support/test-app';
import { API_KEY_CACHE_MS } from '../src/api-keys/api-key-authenticator';
import { RedisConnection } from '../src/redis/redis-connection';

type Scope = 'events:write' | 'metrics:read' | 'users:write';

async function createKey(app: TestApp, admin: SignedUp, scopes: Scope[], name = 'platform') {
  const response = await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name, scopes }).expect(201);
  return response.body as { id: string; key: string; prefix: string; scopes: Scope[] };
}

const basic = (key: { prefix: string; key: string }) => `Basic ${Buffer.from(`${key.prefix}:${key.key}`).toString('base64')}`;

describe('API keys', () => {
  let app: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
  });
  afterAll(() => app.close());

  it('shows the key once, stores only its SHA-256, and lists keys without secrets', async () => {
    const response = await http(app)
      .post('/api/v1/api-keys')
      .set('Authorization', `Bearer ${admin.token}`)
      .send({ name: 'LMS', scopes: ['events:write', 'metrics:read'], expires_at: '2099-01-01T00:00:00Z' })
      .expect(201);
    const created = response.body;
    expect(created).toEqual({
      id: expect.any(String),
      name: 'LMS',
      scopes: ['events:write', 'metrics:read'],
      prefix: expect.stringMatching(/^[0-9a-f]{12}$/),
      key: expect.stringMatching(/^tbm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/),
      created_at: expect.any(String),
      expires_at: '2099-01-01T00:00:00.000Z',
    });
    expect(created.key.startsWith(`tbm_${created.prefix}_`)).toBe(true);
    const [row] = await app.dataSource.query(`SELECT encode(key_hash, 'hex') AS hash FROM api_keys WHERE id = $1`, [created.id]);
    const { createHash } = await import('node:crypto');
    expect(row.hash).toBe(createHash('sha256').update(created.key).digest('hex'));

    const list = await http(app).get('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).expect(200);
    const listed = list.body.items.find((item: { id: string }) => item.id === created.id);
    expect(listed).toEqual({ id: created.id, name: 'LMS', scopes: ['events:write', 'metrics:read'], prefix: created.prefix, created_at: created.created_at, expires_at: '2099-01-01T00:00:00.000Z', last_used_at: null });
    expect(JSON.stringify(list.body)).not.toContain(created.key);
  });

  it('refuses bad input, naming the fields', async () => {
    const response = await http(app)
      .post('/api/v1/api-keys')
      .set('Authorization', `Bearer ${admin.token}`)
      .send({ name: '', scopes: ['events:write', 'admin:all'], expires_at: '2001-01-01T00:00:00Z' })
      .expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.errors.map((error: { field: string }) => error.field).sort()).toEqual(['expires_at', 'name', 'scopes']);
  });

  it('authenticates as Bearer and as HTTP Basic (prefix as user, key as password) and records last_used_at', async () => {
    const key = await createKey(app, admin, ['metrics:read']);
    await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(200);
    const viaBasic = await http(app).get('/api/v1/metrics/activity').set('Authorization', basic(key)).expect(200);
    expect(viaBasic.body.organization_id).toBe(admin.organization.id);
    // The write is not awaited by the request; it lands right after.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const list = await http(app).get('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).expect(200);
    const listed = list.body.items.find((item: { id: string }) => item.id === key.id);
    expect(Date.now() - Date.parse(listed.last_used_at)).toBeLessThan(60_000);
  });

  it('refuses wrong, malformed and mismatched credentials with 401', async () => {
    const key = await createKey(app, admin, ['metrics:read']);
    const wrongSecret = `${key.key.slice(0, -4)}AAAA`;
    const cases = [
      `Bearer ${wrongSecret}`,
      'Bearer tbm_short',
      `Basic ${Buffer.from(`000000000000:${key.key}`).toString('base64')}`,
      `Basic ${Buffer.from(`${key.prefix}:not-the-key`).toString('base64')}`,
      `Basic ${Buffer.from(`${key.prefix}:tbm_short`).toString('base64')}`,
      `Basic ${Buffer.from(`${key.prefix}:${wrongSecret}`).toString('base64')}`,
    ];
    for (const header of cases) {
      const response = await http(app).get('/api/v1/metrics/activity').set('Authorization', header);
      expect({ header, status: response.status }).toEqual({ header, status: 401 });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('lets a key use exactly the routes of its scopes (403 otherwise)', async () => {
    const events = await createKey(app, admin, ['events:write']);
    const metrics = await createKey(app, admin, ['metrics:read']);
    const users = await createKey(app, admin, ['users:write']);
    const learner = await createUser(app, admin.token);
    const batch = { events: [{ type: 'login', user_id: learner.id, occurred_at: new Date().toISOString() }] };
    const as = (key: { key: string }) => `Bearer ${key.key}`;

    await http(app).post('/api/v1/events').set('Authorization', as(events)).send(batch).expect(202);
    await http(app).post('/api/v1/events').set('Authorization', as(metrics)).send(batch).expect(403);
    await http(app).post('/api/v1/events').set('Authorization', as(users)).send(batch).expect(403);

    await http(app).get('/api/v1/metrics/dashboard').set('Authorization', as(metrics)).expect(200);
    await http(app).get('/api/v1/metrics/statistics').set('Authorization', as(metrics)).expect(200);
    await http(app).post('/api/v1/metrics/export').set('Authorization', as(metrics)).send({ format: 'json', date_range: '7d' }).expect(200);
    await http(app).get('/api/v1/metrics/dashboard').set('Authorization', as(events)).expect(403);

    const student = { email: `k.${randomBytes(4).toString('hex')}@example.test`, name: 'Keyed', role: 'student' };
    await http(app).post('/api/v1/users').set('Authorization', as(users)).send(student).expect(201);
    await http(app).post('/api/v1/users').set('Authorization', as(events)).send({ ...student, email: `x${student.email}` }).expect(403);
    // Never on roles, keys or cache invalidation, whatever its scopes.
    const all = await createKey(app, admin, ['events:write', 'metrics:read', 'users:write']);
    const refusals: [string, Promise<import('supertest').Response>][] = [
      ['POST /users (admin)', http(app).post('/api/v1/users').set('Authorization', as(all)).send({ ...student, email: `a${student.email}`, role: 'admin' })],
      ['PATCH /users/:id', http(app).patch(`/api/v1/users/${learner.id}`).set('Authorization', as(all)).send({ role: 'teacher' })],
      ['GET /api-keys', http(app).get('/api/v1/api-keys').set('Authorization', as(all))],
      ['POST /api-keys', http(app).post('/api/v1/api-keys').set('Authorization', as(all)).send({ name: 'more', scopes: ['events:write'] })],
      ['DELETE /api-keys/:id', http(app).delete(`/api/v1/api-keys/${all.id}`).set('Authorization', as(all))],
      ['POST /metrics/invalidate-cache', http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', as(all))],
      ['GET /auth/me', http(app).get('/api/v1/auth/me').set('Authorization', as(all))],
    ];
    for (const [route, pending] of refusals) {
      const response = await pending;
      expect({ route, status: response.status }).toEqual({ route, status: 403 });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const [row] = await app.dataSource.query(`SELECT role FROM users WHERE id = $1`, [learner.id]);
    expect(row.role).toBe('student');
  });

  it('acts for its own organization only', async () => {
    const other = await signup(app);
    const otherLearner = await createUser(app, other.token);
    const key = await createKey(app, admin, ['events:write']);
    const response = await http(app)
      .post('/api/v1/events')
      .set('Authorization', `Bearer ${key.key}`)
      .send({ events: [{ type: 'login', user_id: otherLearner.id, occurred_at: new Date().toISOString() }] })
      .expect(400);
    expect(response.body.errors).toEqual([{ field: 'events[0].user_id', message: 'user_id is not a user of this organization' }]);
  });

  it('is for admins only: a teacher cannot create or list keys', async () => {
    const teacher = await userWithRole(app, admin, 'teacher');
    await http(app).get('/api/v1/api-keys').set('Authorization', `Bearer ${teacher.token}`).expect(403);
    await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${teacher.token}`).send({ name: 'x', scopes: ['events:write'] }).expect(403);
  });

  it('has a rate-limit budget of its own, counted per key', async () => {
    const first = await createKey(app, admin, ['metrics:read']);
    const second = await createKey(app, admin, ['metrics:read']);
    const one = await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${first.key}`).expect(200);
    await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${first.key}`).expect(200);
    const other = await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${second.key}`).expect(200);
    const byUser = await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${admin.token}`).expect(200);
    expect([one.headers['x-ratelimit-remaining'], other.headers['x-ratelimit-remaining'], byUser.headers['x-ratelimit-remaining']]).toEqual(['19', '19', '19']);
    const keys = await app.get(RedisConnection).client!.keys(`*k:${first.id}*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('stops working when deleted, and DELETE of an unknown key is 404', async () => {
    const key = await createKey(app, admin, ['metrics:read']);
    await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(200);
    await http(app).delete(`/api/v1/api-keys/${key.id}`).set('Authorization', `Bearer ${admin.token}`).expect(204);
    await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(401);
    await http(app).delete(`/api/v1/api-keys/${key.id}`).set('Authorization', `Bearer ${admin.token}`).expect(404);
    await http(app).delete('/api/v1/api-keys/not-a-uuid').set('Authorization', `Bearer ${admin.token}`).expect(400);
    const list = await http(app).get('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).expect(200);
    expect(list.body.items.map((item: { id: string }) => item.id)).not.toContain(key.id);
  });

  it('refuses an expired key', async () => {
    const key = await createKey(app, admin, ['metrics:read']);
    await app.dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [key.id]);
    const response = await http(app).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(401);
    expect(response.body.detail).toBe('The API key has expired');
  });
});

describe('API key revocation across instances', () => {
  it('reaches a second instance on the same Redis and database within 5 s', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const clockB = new ManualClock();
    const a = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix } });
    const b = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix }, clock: clockB });
    try {
      const admin = await signup(a);
      const key = await createKey(a, admin, ['metrics:read']);
      await http(b).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(200);
      await http(a).delete(`/api/v1/api-keys/${key.id}`).set('Authorization', `Bearer ${admin.token}`).expect(204);
      // Instance A forgets at once; B trusts what it read for at most API_KEY_CACHE_MS.
      await http(a).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(401);
      expect(API_KEY_CACHE_MS).toBeLessThanOrEqual(5_000);
      clockB.advance(API_KEY_CACHE_MS);
      await http(b).get('/api/v1/metrics/activity').set('Authorization', `Bearer ${key.key}`).expect(401);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
