import { createHmac, randomUUID } from 'node:crypto';
import { http, signup, uniqueEmail } from './support/factories';
import { createTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT built by hand, so tests can make the bad ones the service must refuse. */
function jwt(header: object, payload: object, secret: string | null): string {
  const unsigned = `${base64url(header)}.${base64url(payload)}`;
  const signature = secret === null ? '' : createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

const UNAUTHORIZED = {
  type: 'https://toolbox-metrics.dev/problems/unauthorized',
  title: 'Unauthorized',
  status: 401,
  instance: '/api/v1/auth/me',
};

describe('authentication', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  describe('signup', () => {
    it('creates a free-tier organization with the caller as admin, and logs in', async () => {
      const email = uniqueEmail('founder');
      const response = await http(app)
        .post('/api/v1/auth/signup')
        .send({ organization_name: 'Northwind  Académie', name: 'Ada Admin', email, password: 'correct horse battery' })
        .expect(201);
      const { organization, user } = response.body;
      expect(response.body.token_type).toBe('Bearer');
      expect(response.body.expires_in).toBe(3600);
      expect(organization).toEqual({ id: expect.any(String), name: 'Northwind  Académie', slug: expect.stringMatching(/^northwind-academie(-[0-9a-f]{6})?$/), tier: 'free', created_at: expect.any(String) });
      expect(user).toEqual({
        id: expect.any(String),
        organization_id: organization.id,
        email,
        external_id: null,
        name: 'Ada Admin',
        role: 'admin',
        is_active: true,
        created_at: expect.any(String),
        last_login_at: null,
        last_active_at: null,
      });
      expect(user).not.toHaveProperty('password_hash');
      const [header, payload] = response.body.access_token.split('.').slice(0, 2).map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()));
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(payload).toEqual({ sub: user.id, org: organization.id, role: 'admin', ver: 0, jti: expect.stringMatching(/^[0-9a-f-]{36}$/), iat: expect.any(Number), exp: payload.iat + 3600 });
      expect(response.headers['cache-control']).toBe('no-store');

      const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${response.body.access_token}`).expect(200);
      expect(me.body.user.id).toBe(user.id);
      expect(me.body.organization).toEqual(organization);

      const [stored] = await app.dataSource.query(`SELECT password_hash FROM users WHERE id = $1`, [user.id]);
      expect(stored.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });

    it('answers 409 for an e-mail already taken, whatever its case, and creates no organization', async () => {
      const email = uniqueEmail('taken');
      await signup(app, { email });
      const before = await app.dataSource.query(`SELECT count(*)::int AS n FROM organizations`);
      for (const variant of [email, email.toUpperCase()]) {
        const response = await http(app).post('/api/v1/auth/signup').send({ organization_name: 'Another', name: 'B', email: variant, password: 'long enough pw 2' }).expect(409);
        expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
        expect(response.body).toMatchObject({ status: 409, title: 'Conflict', detail: 'A user with this e-mail already exists' });
      }
      const after = await app.dataSource.query(`SELECT count(*)::int AS n FROM organizations`);
      expect(after[0].n).toBe(before[0].n);
    });

    it.each([
      ['9 characters', 'xy'.repeat(4) + 'z', 400, 'The password must be 10 to 128 characters long'],
      ['10 characters', 'xy'.repeat(5), 201, null],
      ['128 characters', 'xy'.repeat(64), 201, null],
      ['129 characters', 'xy'.repeat(64) + 'z', 400, 'The password must be 10 to 128 characters long'],
      ['ten spaces', ' '.repeat(10), 400, 'The password must not be blank'],
      ['one character repeated', 'a'.repeat(10), 400, 'The password must not be one character repeated'],
      ['a common password', 'password1234', 400, 'The password is in a list of commonly used passwords; choose another'],
      ['a common password in other case', 'QWERTYuiop', 400, 'The password is in a list of commonly used passwords; choose another'],
    ])('applies the password rules: %s → %s', async (_label, password, status, message) => {
      const response = await http(app).post('/api/v1/auth/signup').send({ organization_name: 'Bounds', name: 'B', email: uniqueEmail(), password }).expect(status);
      if (message) expect(response.body.errors).toEqual([{ field: 'password', message }]);
    });

    it('rejects an unknown field and names it, with every other bad field', async () => {
      const response = await http(app)
        .post('/api/v1/auth/signup')
        .send({ organization_name: 'X', name: 'Y', email: 'not-an-email', password: 'long enough pw 2', tier: 'enterprise' })
        .expect(400);
      expect(response.body).toMatchObject({ type: 'https://toolbox-metrics.dev/problems/validation-failed', status: 400, detail: 'The request has invalid fields' });
      expect(response.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'tier', message: 'property tier should not exist' },
          { field: 'email', message: 'email must be an email' },
        ]),
      );
      expect(response.body.errors).toHaveLength(2);
    });
  });

  describe('login', () => {
    it('returns a token for the right password and records last_login_at', async () => {
      const account = await signup(app, { password: 'the right password' });
      const response = await http(app).post('/api/v1/auth/login').send({ email: account.user.email.toUpperCase(), password: 'the right password' }).expect(200);
      expect(response.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, device_token: expect.stringMatching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/) });
      expect(response.headers['cache-control']).toBe('no-store');
      const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${response.body.access_token}`).expect(200);
      expect(me.body.user.id).toBe(account.user.id);
      expect(Date.now() - Date.parse(me.body.user.last_login_at)).toBeLessThan(60_000);
    });

    it('gives the identical generic answer for a wrong e-mail and a wrong password', async () => {
      const account = await signup(app);
      const wrongPassword = await http(app).post('/api/v1/auth/login').send({ email: account.user.email, password: 'not the password' }).expect(401);
      const wrongEmail = await http(app).post('/api/v1/auth/login').send({ email: uniqueEmail('nobody'), password: 'correct horse battery' }).expect(401);
      for (const response of [wrongPassword, wrongEmail]) {
        expect(response.headers['www-authenticate']).toBe('Bearer');
        expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      }
      const strip = (body: Record<string, unknown>) => ({ ...body, correlation_id: undefined });
      expect(strip(wrongPassword.body)).toEqual(strip(wrongEmail.body));
      expect(wrongEmail.body).toEqual({
        type: 'https://toolbox-metrics.dev/problems/unauthorized',
        title: 'Unauthorized',
        status: 401,
        detail: 'The e-mail or password is incorrect',
        instance: '/api/v1/auth/login',
        correlation_id: wrongEmail.headers['x-correlation-id'],
      });
    });

    it('refuses a learner without a password and a deactivated user, with the same message', async () => {
      const admin = await signup(app);
      const learner = await http(app).post('/api/v1/users').set('Authorization', `Bearer ${admin.token}`).send({ email: uniqueEmail(), name: 'L', role: 'student' }).expect(201);
      const noPassword = await http(app).post('/api/v1/auth/login').send({ email: learner.body.email, password: 'anything at all' }).expect(401);
      expect(noPassword.body.detail).toBe('The e-mail or password is incorrect');

      const teacher = await http(app).post('/api/v1/users').set('Authorization', `Bearer ${admin.token}`).send({ email: uniqueEmail(), name: 'T', role: 'teacher', password: 'teacher password' }).expect(201);
      await http(app).patch(`/api/v1/users/${teacher.body.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: false }).expect(200);
      const inactive = await http(app).post('/api/v1/auth/login').send({ email: teacher.body.email, password: 'teacher password' }).expect(401);
      expect(inactive.body.detail).toBe('The e-mail or password is incorrect');
    });
  });

  describe('bearer tokens', () => {
    let account: Awaited<ReturnType<typeof signup>>;
    let claims: { sub: string; org: string; role: string; jti: string; ver: number };
    beforeAll(async () => {
      account = await signup(app);
      claims = { sub: account.user.id, org: account.organization.id, role: 'admin', jti: randomUUID(), ver: 0 };
    });
    const now = () => Math.floor(Date.now() / 1000);

    it('accepts a well-formed token signed with the secret (the control case)', async () => {
      const token = jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now(), exp: now() + 60 }, TEST_JWT_SECRET);
      await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    });

    it.each([
      ['missing', () => undefined, 'A bearer token is required'],
      ['not a bearer scheme', () => `Basic ${Buffer.from('a:b').toString('base64')}`, 'The Authorization header is not a bearer token'],
      ['malformed', () => 'Bearer not-a-jwt', 'The Authorization header is not a bearer token'],
      ['garbage in three parts', () => 'Bearer aaa.bbb.ccc', 'The access token is invalid or expired'],
      ['expired', (c: object) => `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { ...c, iat: now() - 7200, exp: now() - 3600 }, TEST_JWT_SECRET)}`, 'The access token is invalid or expired'],
      ['wrongly signed', (c: object) => `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { ...c, iat: now(), exp: now() + 60 }, 'another-secret-that-is-long-enough-too!')}`, 'The access token is invalid or expired'],
      ['alg none', (c: object) => `Bearer ${jwt({ alg: 'none', typ: 'JWT' }, { ...c, iat: now(), exp: now() + 60 }, null)}`, 'The access token is invalid or expired'],
      ['HS512 with the right secret', (c: object) => `Bearer ${jwt({ alg: 'HS512', typ: 'JWT' }, { ...c, iat: now(), exp: now() + 60 }, TEST_JWT_SECRET)}`, 'The access token is invalid or expired'],
      ['signed, but sub is not a uuid', (c: object) => `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { ...c, sub: 'admin', iat: now(), exp: now() + 60 }, TEST_JWT_SECRET)}`, 'The access token is invalid or expired'],
      ['signed, without a token id', (c: object) => `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { ...c, jti: undefined, iat: now(), exp: now() + 60 }, TEST_JWT_SECRET)}`, 'The access token is invalid or expired'],
      ['signed, of an older token version', (c: object) => `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { ...c, ver: -1, iat: now(), exp: now() + 60 }, TEST_JWT_SECRET)}`, 'The access token is invalid or expired'],
      ['signed, for a user that does not exist', (c: object) => `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { ...c, sub: '00000000-0000-4000-8000-000000000000', iat: now(), exp: now() + 60 }, TEST_JWT_SECRET)}`, 'The access token is invalid or expired'],
    ])('answers 401 with WWW-Authenticate: Bearer for a %s token', async (_label, header, detail) => {
      const value = header(claims);
      const requestBuilder = http(app).get('/api/v1/auth/me');
      const response = await (value === undefined ? requestBuilder : requestBuilder.set('Authorization', value)).expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toEqual({ ...UNAUTHORIZED, detail, correlation_id: response.headers['x-correlation-id'] });
    });
  });
});
