import { randomUUID } from 'node:crypto';
import { createContent, createUser, event, http, signup, SignedUp, uniqueEmail, userWithRole } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('roles', () => {
  let app: TestApp;
  let admin: SignedUp;
  let teacher: { id: string; token: string };
  let student: { id: string; token: string };
  let contentId: string;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
    teacher = await userWithRole(app, admin, 'teacher');
    student = await userWithRole(app, admin, 'student');
    contentId = (await createContent(app, admin.token)).id;
  });
  afterAll(() => app.close());

  const as = (token: string) => ({
    get: (path: string) => http(app).get(path).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object) => http(app).post(path).set('Authorization', `Bearer ${token}`).send(body),
    patch: (path: string, body: object) => http(app).patch(path).set('Authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => http(app).delete(path).set('Authorization', `Bearer ${token}`),
  });

  it('lets every role read /auth/me with its own role', async () => {
    for (const [who, role] of [[admin.token, 'admin'], [teacher.token, 'teacher'], [student.token, 'student']] as const) {
      const me = await as(who).get('/api/v1/auth/me').expect(200);
      expect(me.body.user.role).toBe(role);
      expect(me.body.organization.id).toBe(admin.organization.id);
      expect(me.body.organization.tier).toBe('free');
    }
  });

  it('answers a student 403 on every user, content and event endpoint, and writes nothing', async () => {
    const calls = [
      as(student.token).get('/api/v1/users'),
      as(student.token).post('/api/v1/users', { email: uniqueEmail(), name: 'X', role: 'student' }),
      as(student.token).patch(`/api/v1/users/${student.id}`, { role: 'admin' }),
      as(student.token).get('/api/v1/content'),
      as(student.token).post('/api/v1/content', { title: 'T', content_type: 'lesson' }),
      as(student.token).patch(`/api/v1/content/${contentId}`, { title: 'Hijacked' }),
      as(student.token).delete(`/api/v1/content/${contentId}`),
      as(student.token).post('/api/v1/events', { events: [event(student.id)] }),
    ];
    for (const call of calls) {
      const response = await call.expect(403);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toMatchObject({ type: 'https://toolbox-metrics.dev/problems/forbidden', status: 403, title: 'Forbidden' });
    }
    const [counts] = await app.dataSource.query(
      `SELECT (SELECT count(*)::int FROM users WHERE organization_id = $1) AS users,
              (SELECT count(*)::int FROM educational_content WHERE organization_id = $1 AND deleted_at IS NULL AND title = 'A lesson') AS content,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1) AS events,
              (SELECT role FROM users WHERE id = $2) AS student_role`,
      [admin.organization.id, student.id],
    );
    expect(counts).toEqual({ users: 3, content: 1, events: 0, student_role: 'student' });
  });

  it('lets a teacher list users but not create or change them', async () => {
    const list = await as(teacher.token).get('/api/v1/users').expect(200);
    expect(list.body.items.map((user: { id: string }) => user.id).sort()).toEqual([admin.user.id, teacher.id, student.id].sort());
    const create = await as(teacher.token).post('/api/v1/users', { email: uniqueEmail(), name: 'X', role: 'teacher' }).expect(403);
    expect(create.body.detail).toBe('This endpoint is for admin users');
    await as(teacher.token).patch(`/api/v1/users/${student.id}`, { name: 'Renamed' }).expect(403);
  });

  it('lets a teacher manage content and push events', async () => {
    const created = await as(teacher.token).post('/api/v1/content', { title: 'By a teacher', content_type: 'quiz' }).expect(201);
    expect(created.body.author_id).toBe(teacher.id);
    await as(teacher.token).patch(`/api/v1/content/${created.body.id}`, { status: 'published' }).expect(200);
    await as(teacher.token).get('/api/v1/content').expect(200);
    await as(teacher.token).delete(`/api/v1/content/${created.body.id}`).expect(204);
    const pushed = await as(teacher.token).post('/api/v1/events', { events: [event(student.id, { id: randomUUID() })] }).expect(202);
    expect(pushed.body).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('lets an admin do everything in its organization', async () => {
    const user = await createUser(app, admin.token, { role: 'teacher' });
    const patched = await as(admin.token).patch(`/api/v1/users/${user.id}`, { role: 'admin', name: 'Promoted' }).expect(200);
    expect(patched.body).toMatchObject({ id: user.id, role: 'admin', name: 'Promoted', is_active: true });
    await as(admin.token).get('/api/v1/users?role=admin').expect(200);
    await as(admin.token).post('/api/v1/events', { events: [event(user.id)] }).expect(202);
  });

  it('applies a role change at once: the earlier token stops working, a new login carries the new role', async () => {
    const promoted = await userWithRole(app, admin, 'student');
    await as(promoted.token).get('/api/v1/content').expect(403);
    await as(admin.token).patch(`/api/v1/users/${promoted.id}`, { role: 'teacher' }).expect(200);
    await as(promoted.token).get('/api/v1/content').expect(401);
    const login = await http(app).post('/api/v1/auth/login').send({ email: promoted.email, password: promoted.password }).expect(200);
    await as(login.body.access_token).get('/api/v1/content').expect(200);
  });
});
