import { LAST_ADMIN_RULE } from '../src/users/users.service';
import { http, signup, userWithRole } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('an organization keeps at least one active admin', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const patch = (token: string, id: string, body: object) => http(app).patch(`/api/v1/users/${id}`).set('Authorization', `Bearer ${token}`).send(body);
  const activeAdmins = async (organizationId: string) =>
    (await app.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND role = 'admin' AND is_active`, [organizationId]))[0].n;

  it('refuses to demote or deactivate the last active admin with 409 naming the rule, and changes nothing', async () => {
    const admin = await signup(app);
    for (const body of [{ role: 'teacher' }, { role: 'student' }, { is_active: false }, { name: 'Still me', is_active: false }]) {
      const response = await patch(admin.token, admin.user.id, body).expect(409);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toMatchObject({ status: 409, title: 'Conflict', detail: LAST_ADMIN_RULE });
    }
    const [row] = await app.dataSource.query(`SELECT name, role, is_active, token_version FROM users WHERE id = $1`, [admin.user.id]);
    expect(row).toEqual({ name: 'Admin Person', role: 'admin', is_active: true, token_version: 0 });
    // Changes that keep the admin are fine.
    await patch(admin.token, admin.user.id, { name: 'Renamed', role: 'admin', is_active: true }).expect(200);
  });

  it('allows it once another active admin exists, and counts only active admins', async () => {
    const admin = await signup(app);
    const second = await userWithRole(app, admin, 'admin');
    await patch(admin.token, second.id, { is_active: false }).expect(200);
    // The second admin is inactive: the first is the last active one.
    await patch(admin.token, admin.user.id, { role: 'teacher' }).expect(409);
    await patch(admin.token, second.id, { is_active: true }).expect(200);
    await patch(admin.token, admin.user.id, { role: 'teacher' }).expect(200);
    expect(await activeAdmins(admin.organization.id)).toBe(1);
    const secondToken = (await http(app).post('/api/v1/auth/login').send({ email: second.email, password: second.password }).expect(200)).body.access_token;
    await patch(secondToken, second.id, { role: 'student' }).expect(409);
  });

  it('lets exactly one of two admins demoting each other at the same moment succeed', async () => {
    for (let round = 0; round < 3; round++) {
      const admin = await signup(app);
      const second = await userWithRole(app, admin, 'admin');
      const statuses = (await Promise.all([patch(admin.token, second.id, { role: 'teacher' }), patch(second.token, admin.user.id, { is_active: false })])).map((r) => r.status);
      // The loser gets 409, or 401 when the winner's change had already ended the loser's token before its request was let in.
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      const losers = statuses.filter((status) => status !== 200);
      expect(losers).toHaveLength(1);
      expect([401, 409]).toContain(losers[0]);
      expect(await activeAdmins(admin.organization.id)).toBe(1);
    }
  });
});
