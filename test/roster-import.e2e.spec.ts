import { randomBytes } from 'node:crypto';
import { createUser, http, signup, SignedUp, uniqueEmail } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('roster import', () => {
  let app: TestApp;
  let admin: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  beforeEach(async () => {
    admin = await signup(app);
  });
  afterAll(() => app.close());

  const csv = (text: string, authorization = `Bearer ${admin.token}`) =>
    http(app).post('/api/v1/users/import').set('Authorization', authorization).set('Content-Type', 'text/csv').send(text);
  const json = (body: unknown, authorization = `Bearer ${admin.token}`) => http(app).post('/api/v1/users/import').set('Authorization', authorization).send(body as object);
  const users = () =>
    app.dataSource.query(
      `SELECT external_id, email, name, role, is_active, created_at FROM users WHERE organization_id = $1 AND id <> $2 ORDER BY name`,
      [admin.organization.id, admin.user.id],
    );

  it('creates, updates and leaves unchanged, matching by external_id then e-mail', async () => {
    const tag = randomBytes(3).toString('hex');
    const byEmail = await createUser(app, admin.token, { email: `grace.${tag}@example.test`, name: 'Grace Old' });
    await createUser(app, admin.token, { external_id: 'sis-2', email: `ben.${tag}@example.test`, name: 'Ben' });
    const response = await csv(
      [
        'name,external_id,email,role,is_active,created_at',
        `Ada,sis-1,ada.${tag}@example.test,student,true,2024-09-01T08:00:00Z`,
        `Grace New,sis-3,GRACE.${tag}@Example.Test,teacher,,`,
        'Ben,sis-2,,,,',
        '"Lovelace, Countess",sis-4,,,false,',
      ].join('\n'),
    ).expect(200);
    expect(response.body).toEqual({ created: 2, updated: 1, unchanged: 1 });
    expect(await users()).toEqual([
      { external_id: 'sis-1', email: `ada.${tag}@example.test`, name: 'Ada', role: 'student', is_active: true, created_at: new Date('2024-09-01T08:00:00Z') },
      { external_id: 'sis-2', email: `ben.${tag}@example.test`, name: 'Ben', role: 'student', is_active: true, created_at: expect.any(Date) },
      // Stored in the one normalized form (trimmed, NFC, lowercase), so the row matched Grace by e-mail.
      { external_id: 'sis-3', email: `grace.${tag}@example.test`, name: 'Grace New', role: 'teacher', is_active: true, created_at: new Date(byEmail.created_at) },
      { external_id: 'sis-4', email: null, name: 'Lovelace, Countess', role: 'student', is_active: false, created_at: expect.any(Date) },
    ]);
    // The same roster again changes nothing.
    const again = await json({ users: [{ external_id: 'sis-1', name: 'Ada' }, { email: `ben.${tag}@example.test`, name: 'Ben' }] }).expect(200);
    expect(again.body).toEqual({ created: 0, updated: 0, unchanged: 2 });
  });

  it('names every bad CSV row by line number and field, and writes nothing', async () => {
    const response = await csv(
      [
        'external_id,email,name,role,is_active,created_at',
        'ok-1,,Fine,,,',
        ',,Nobody,,,',
        'bad-2,not-an-email,Broken,,,',
        'bad-3,,,,,',
        '',
        'bad-4,,Wrong role,owner,maybe,2999-01-01T00:00:00Z',
        'ok-1,,Repeated,,,',
      ].join('\n'),
    ).expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.errors).toEqual([
      { field: 'line 3.external_id', message: 'each row needs an external_id or an email' },
      { field: 'line 4.email', message: 'email must be an e-mail address' },
      { field: 'line 5.name', message: 'name is required, 1 to 200 characters' },
      { field: 'line 7.is_active', message: 'is_active must be true or false' },
      { field: 'line 7.role', message: 'role must be one of admin, teacher, student' },
      { field: 'line 7.created_at', message: 'created_at must be an ISO 8601 date-time with a time zone, not in the future' },
      { field: 'line 8.external_id', message: 'external_id repeats line 2' },
    ]);
    expect(await users()).toEqual([]);
  });

  it('names bad JSON rows by index, refuses unknown columns and empty rosters', async () => {
    const response = await json({ users: [{ name: 'Fine', external_id: 'j-1' }, { name: 5, external_id: 'j-2' }, { name: 'X', external_id: 'j-3', shoe_size: 44 }, 'nope'] }).expect(400);
    expect(response.body.errors).toEqual([
      { field: 'users[1].name', message: 'name must be a string' },
      { field: 'users[2].shoe_size', message: 'unknown field "shoe_size"' },
      { field: 'users[3]', message: 'users[3] must be an object' },
    ]);
    expect((await csv('external_id,name,favourite_colour\nx,Y,blue').expect(400)).body.errors).toEqual([
      { field: 'line 1', message: 'unknown column "favourite_colour"; the columns are external_id, email, name, role, is_active, created_at' },
    ]);
    await csv('external_id,name\n').expect(400);
    await json({ users: [] }).expect(400);
    await http(app).post('/api/v1/users/import').set('Authorization', `Bearer ${admin.token}`).set('Content-Type', 'text/plain').send('x').expect(415);
    expect(await users()).toEqual([]);
  });

  it('refuses rows that clash with stored users, and an e-mail held in another organization', async () => {
    const tag = randomBytes(3).toString('hex');
    await createUser(app, admin.token, { external_id: 'keep-1', email: `kim.${tag}@example.test`, name: 'Kim' });
    const elsewhere = await signup(app);
    const foreign = uniqueEmail('foreign');
    await createUser(app, elsewhere.token, { email: foreign });
    const clash = await csv(`external_id,email,name\nother-9,kim.${tag}@example.test,Kim\n`).expect(400);
    expect(clash.body.errors).toEqual([{ field: 'line 2.external_id', message: 'the user with this email has another external_id' }]);
    const taken = await csv(`external_id,email,name\nnew-1,,Fine\nnew-2,${foreign},Taken\n`).expect(400);
    expect(taken.body.errors).toEqual([{ field: 'line 3.email', message: 'this e-mail belongs to another user of the service' }]);
    expect((await users()).map((user: { name: string }) => user.name)).toEqual(['Kim']);
  });

  it('ends the tokens of users it demotes or deactivates, as a change through PATCH /users/:id does', async () => {
    const password = 'roster-Kestrel-4821';
    const teacher = await createUser(app, admin.token, { role: 'teacher', password });
    const learner = await createUser(app, admin.token, { role: 'student', password });
    const login = async (email: string) => (await http(app).post('/api/v1/auth/login').send({ email, password }).expect(200)).body.access_token as string;
    const [teacherToken, learnerToken] = [await login(teacher.email), await login(learner.email)];
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${teacherToken}`).expect(200);

    await csv(`email,name,role,is_active\n${teacher.email},Learner,student,\n${learner.email},Learner,,false\n`).expect(200);
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${teacherToken}`).expect(401);
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${learnerToken}`).expect(401);
    // A row that keeps the role and the active flag ends nothing: the admin's own token still works.
    await csv(`email,name,role\n${admin.user.email},Admin,admin\n`).expect(200);
    await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${admin.token}`).expect(200);
  });

  it('never leaves the organization without an active admin', async () => {
    const response = await json({ users: [{ email: admin.user.email, name: 'Me', is_active: false }] }).expect(409);
    expect(response.body.detail).toMatch(/without an active admin/);
    const [row] = await app.dataSource.query(`SELECT is_active FROM users WHERE id = $1`, [admin.user.id]);
    expect(row.is_active).toBe(true);
  });

  it('works with a users:write key, which may not create admins or change roles', async () => {
    const key = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'sis', scopes: ['users:write'] }).expect(201)).body;
    const bearer = `Bearer ${key.key}`;
    expect((await csv('external_id,name,role\nk-1,Kay,teacher\n', bearer).expect(200)).body).toEqual({ created: 1, updated: 0, unchanged: 0 });
    const refused = await csv('external_id,name,role\nk-1,Kay,student\nk-2,Boss,admin\n', bearer).expect(403);
    expect(refused.body.errors).toEqual([
      { field: 'line 2.role', message: 'an API key may not change a user’s role' },
      { field: 'line 3.role', message: 'an API key may not create admins' },
    ]);
    // Naming an existing admin as admin changes nobody's role: the key may send that row (a roster lists everyone).
    expect((await csv(`email,name,role\n${admin.user.email},Admin,admin\n`, bearer).expect(200)).body).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const eventsKey = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'lms', scopes: ['events:write'] }).expect(201)).body;
    await csv('external_id,name\nk-3,Zed\n', `Bearer ${eventsKey.key}`).expect(403);
    expect((await users()).map((user: { external_id: string; role: string }) => [user.external_id, user.role])).toEqual([['k-1', 'teacher']]);
  });
});

describe('roster import at full size', () => {
  it('imports 50,000 CSV rows in one request, then matches all of them on a second import', async () => {
    const app = await createTestApp();
    try {
      const admin = await signup(app);
      const tag = randomBytes(3).toString('hex');
      const lines = ['external_id,email,name,role,is_active,created_at'];
      for (let i = 0; i < 50_000; i++) lines.push(`big-${i},big.${tag}.${i}@example.test,Learner ${i},student,true,2025-01-01T00:00:00Z`);
      const send = (text: string) =>
        http(app).post('/api/v1/users/import').set('Authorization', `Bearer ${admin.token}`).set('Content-Type', 'text/csv').send(text);
      let started = Date.now();
      expect((await send(lines.join('\n')).expect(200)).body).toEqual({ created: 50_000, updated: 0, unchanged: 0 });
      const firstMs = Date.now() - started;
      lines[1] = `big-0,big.${tag}.0@example.test,Renamed,student,true,2025-01-01T00:00:00Z`;
      started = Date.now();
      expect((await send(lines.join('\n')).expect(200)).body).toEqual({ created: 0, updated: 1, unchanged: 49_999 });
      // Informational only (timing targets are the benchmark's): a row-by-row import would take minutes.
      console.log(`roster import of 50,000 rows: ${firstMs} ms new, ${Date.now() - started} ms matched`);
      const [row] = await app.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND external_id LIKE 'big-%'`, [admin.organization.id]);
      expect(row.n).toBe(50_000);
    } finally {
      await app.close();
    }
  }, 300_000);
});
