import { http, signup, SignedUp, uniqueEmail } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('users', () => {
  let app: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
  });
  afterAll(() => app.close());

  const post = (body: object, token = admin.token) => http(app).post('/api/v1/users').set('Authorization', `Bearer ${token}`).send(body);

  it('creates a user with exactly the given fields and no password hash in the answer', async () => {
    const email = uniqueEmail('grace');
    const response = await post({ email: `  ${email}  `, name: ' Grace Teacher ', role: 'teacher', password: 'a fine password' }).expect(201);
    expect(response.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      organization_id: admin.organization.id,
      email,
      external_id: null,
      name: 'Grace Teacher',
      role: 'teacher',
      is_active: true,
      created_at: expect.any(String),
      last_login_at: null,
      last_active_at: null,
    });
    expect(Math.abs(Date.now() - Date.parse(response.body.created_at))).toBeLessThan(60_000);
    const [row] = await app.dataSource.query(`SELECT password_hash IS NOT NULL AS has_hash FROM users WHERE id = $1`, [response.body.id]);
    expect(row.has_hash).toBe(true);
  });

  it('backfills created_at for imported users, and refuses one in the future', async () => {
    const imported = await post({ email: uniqueEmail(), name: 'Imported', role: 'student', created_at: '2024-02-29T08:30:00Z' }).expect(201);
    expect(imported.body.created_at).toBe('2024-02-29T08:30:00.000Z');
    const withOffset = await post({ email: uniqueEmail(), name: 'Offset', role: 'student', created_at: '2024-03-01T02:00:00+02:00' }).expect(201);
    expect(withOffset.body.created_at).toBe('2024-03-01T00:00:00.000Z');

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const refused = await post({ email: uniqueEmail(), name: 'Future', role: 'student', created_at: future }).expect(400);
    expect(refused.body.errors).toEqual([{ field: 'created_at', message: 'created_at must be an ISO 8601 date-time with a time zone, not in the future' }]);
    for (const bad of ['yesterday', '2024-02-30T00:00:00Z', '2024-01-01', 1700000000000]) {
      const response = await post({ email: uniqueEmail(), name: 'Bad', role: 'student', created_at: bad }).expect(400);
      expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(['created_at']);
    }
  });

  it('names every bad field, and rejects unknown ones', async () => {
    const response = await post({ email: 'nope', name: '', role: 'owner', password: 'short', is_admin: true }).expect(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'is_admin', message: 'property is_admin should not exist' },
        { field: 'email', message: 'email must be an email' },
        { field: 'name', message: 'name must be longer than or equal to 1 characters' },
        { field: 'role', message: 'role must be one of the following values: admin, teacher, student' },
        { field: 'password', message: 'The password must be 10 to 128 characters long' },
      ]),
    );
    expect(response.body.errors).toHaveLength(5);
  });

  it('answers 409 for an e-mail used in any organization, in any case', async () => {
    const other = await signup(app);
    const response = await post({ email: other.user.email.toUpperCase(), name: 'Dup', role: 'student' }).expect(409);
    expect(response.body).toMatchObject({ status: 409, detail: 'A user with this e-mail already exists' });
  });

  it('updates name, role and is_active, leaving other fields alone', async () => {
    const created = await post({ email: uniqueEmail(), name: 'Before', role: 'student' }).expect(201);
    const renamed = await http(app).patch(`/api/v1/users/${created.body.id}`).set('Authorization', `Bearer ${admin.token}`).send({ name: 'After' }).expect(200);
    expect(renamed.body).toEqual({ ...created.body, name: 'After' });
    const changed = await http(app).patch(`/api/v1/users/${created.body.id}`).set('Authorization', `Bearer ${admin.token}`).send({ role: 'teacher', is_active: false }).expect(200);
    expect(changed.body).toEqual({ ...created.body, name: 'After', role: 'teacher', is_active: false });
    const badType = await http(app).patch(`/api/v1/users/${created.body.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: 'no' }).expect(400);
    expect(badType.body.errors).toEqual([{ field: 'is_active', message: 'is_active must be a boolean value' }]);
    const missing = await http(app).patch('/api/v1/users/00000000-0000-4000-8000-000000000000').set('Authorization', `Bearer ${admin.token}`).send({ name: 'X' }).expect(404);
    expect(missing.body.detail).toBe('No such user in this organization');
  });

  it('pages through users newest first, every user exactly once, filtered by role', async () => {
    const school = await signup(app);
    const created: string[] = [school.user.id];
    for (let i = 0; i < 7; i++) {
      const role = i % 2 === 0 ? 'student' : 'teacher';
      const response = await post({ email: uniqueEmail(), name: `U${i}`, role, created_at: `2025-01-0${1 + (i % 3)}T00:00:00Z` }, school.token).expect(201);
      created.push(response.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { items: { id: string; created_at: string }[]; next_cursor: string | null } } = await http(app)
        .get('/api/v1/users')
        .query({ limit: 3, ...(cursor ? { cursor } : {}) })
        .set('Authorization', `Bearer ${school.token}`)
        .expect(200);
      seen.push(...page.body.items.map((user) => user.id));
      const times = page.body.items.map((user) => Date.parse(user.created_at));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(8);
    expect(new Set(seen)).toEqual(new Set(created));

    const students = await http(app).get('/api/v1/users?role=student&limit=100').set('Authorization', `Bearer ${school.token}`).expect(200);
    expect(students.body.items).toHaveLength(4);
    expect(students.body.next_cursor).toBeNull();

    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'role=owner', 'cursor=bm90LWEtY3Vyc29y']) {
      const response = await http(app).get(`/api/v1/users?${query}`).set('Authorization', `Bearer ${school.token}`).expect(400);
      expect(new Set(response.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set([query.split('=')[0]]));
    }
    // Forged cursors: years JavaScript reads but PostgreSQL cannot, impossible dates, other spellings → 400, never 500.
    const forged = (text: string) => Buffer.from(text).toString('base64url');
    const id = students.body.items[0].id;
    for (const cursor of [forged(`+275760-09-13T00:00:00.000Z|${id}`), forged(`0000-01-01T00:00:00.000Z|${id}`), forged(`2025-13-01T00:00:00.000Z|${id}`), forged(`2025-01-01T00:00:00.000+02:00|${id}`)]) {
      for (const path of ['/api/v1/users', '/api/v1/content']) {
        const response = await http(app).get(path).query({ cursor }).set('Authorization', `Bearer ${school.token}`).expect(400);
        expect(response.body.errors).toEqual([{ field: 'cursor', message: 'cursor is not a cursor returned by this endpoint' }]);
      }
    }
  });
});
