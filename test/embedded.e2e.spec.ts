import { randomUUID } from 'node:crypto';
import { DemoData, DEMO_EMAIL } from '../src/demo/demo-data.service';
import { http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** The two-command start: no DATABASE_URL (PGlite in memory), no REDIS_URL, migrations and demo data by default. */
describe('embedded mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      redis: false,
      env: { DATABASE_URL: undefined, EMBEDDED_DATA_DIR: 'memory://', MIGRATIONS_RUN: undefined, DEMO_DATA: undefined },
    });
  }, 180_000);
  afterAll(() => app?.close());

  it('runs on PGlite with its migrations applied and no Redis', async () => {
    expect(app.config.embeddedDatabase).toBe(true);
    expect(app.config.migrationsRun).toBe(true);
    expect(app.config.REDIS_URL).toBeUndefined();
    const [version] = await app.dataSource.query(`SELECT current_setting('server_version_num')::int >= 170000 AS recent`);
    expect(version.recent).toBe(true);
    const migrations = await app.dataSource.query(`SELECT name FROM typeorm_migrations ORDER BY id`);
    expect(migrations[0]).toEqual({ name: 'InitialSchema1764100000000' });
    const ready = await http(app).get('/health/ready').expect(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'up', redis: 'disabled' }, replicas: [] });
  });

  it('serves a signup and /auth/me', async () => {
    const account = await signup(app, { organization_name: 'Embedded School' });
    const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${account.token}`).expect(200);
    expect(me.body.user).toMatchObject({ id: account.user.id, role: 'admin', email: account.user.email });
    expect(me.body.organization).toMatchObject({ name: 'Embedded School', slug: 'embedded-school', tier: 'free' });
  });

  it('shows the demo admin’s e-mail in the login example of the OpenAPI document', async () => {
    const { body } = await http(app).get('/openapi.json').expect(200);
    expect(body.components.schemas.LoginRequest.properties.email.example).toBe(DEMO_EMAIL);
  });

  it('creates the demo organization once, whose admin logs in with the printed credentials', async () => {
    const credentials = app.get(DemoData).status;
    expect(credentials).toEqual({ organizationSlug: 'demo', email: DEMO_EMAIL, password: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/), eventsAdded: expect.any(Number) });
    const login = await http(app).post('/api/v1/auth/login').send({ email: credentials!.email, password: credentials!.password }).expect(200);
    const me = await http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.access_token}`).expect(200);
    expect(me.body.organization).toMatchObject({ slug: 'demo', name: 'Demo Academy', tier: 'premium' });
    expect(me.body.user).toMatchObject({ email: DEMO_EMAIL, role: 'admin' });

    const [counts] = await app.dataSource.query(
      `SELECT (SELECT count(*)::int FROM users WHERE organization_id = $1) AS users,
              (SELECT count(*)::int FROM educational_content WHERE organization_id = $1) AS content,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1) AS events,
              (SELECT count(DISTINCT occurred_at::date)::int FROM activity_events WHERE organization_id = $1) AS days,
              (SELECT count(*)::int FROM activity_events WHERE organization_id = $1 AND occurred_at > now()) AS future`,
      [me.body.organization.id],
    );
    expect(counts.users).toBe(60);
    expect(counts.content).toBe(40);
    // Four weeks up to the moment of start-up (today's first events may still be ahead just after midnight).
    expect(counts.days).toBeGreaterThanOrEqual(27);
    expect(counts.days).toBeLessThanOrEqual(28);
    expect(counts.future).toBe(0);
    // About three events a user a weekday over four weeks, fewer at weekends.
    expect(counts.events).toBe(credentials!.eventsAdded);
    expect(counts.events).toBeGreaterThan(2500);
    const [daily] = await app.dataSource.query(
      `SELECT min(n)::int AS quietest, max(n)::int AS busiest
         FROM (SELECT count(DISTINCT user_id) AS n FROM activity_events WHERE organization_id = $1 GROUP BY occurred_at::date) d`,
      [me.body.organization.id],
    );
    expect(daily.busiest).toBeLessThanOrEqual(60);
    expect(daily.quietest).toBeLessThan(daily.busiest);

    // The demo's own users and events are served through the API like any other organization's.
    const users = await http(app).get('/api/v1/users?limit=100').set('Authorization', `Bearer ${login.body.access_token}`).expect(200);
    expect(users.body.items).toHaveLength(60);
  });

  it('stores xAPI statements from the text sent (and from a re-serialized body) on PGlite', async () => {
    const account = await signup(app, { organization_name: 'Embedded xAPI School' });
    const key = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${account.token}`).send({ name: 'LMS', scopes: ['events:write'] }).expect(201)).body;
    const statement = (name: string) => ({
      id: randomUUID(),
      actor: { mbox: `mailto:${name}@school.example`, name },
      verb: { id: 'http://adlnet.gov/expapi/verbs/completed' },
      object: { id: 'https://lms.example/lessons/1' },
      result: { score: { scaled: 0.75 } },
    });
    // As sent (UTF-8), and with a byte order mark, which the service drops and serializes the parsed body again.
    for (const [sent, text] of [statement('Zoë'), statement('Ana')].map((one, index) => [one, `${index === 1 ? '\ufeff' : ''}${JSON.stringify([one])}`] as const)) {
      const ids = await http(app)
        .post('/api/v1/xapi/statements')
        .set('Authorization', `Bearer ${key.key}`)
        .set('X-Experience-API-Version', '1.0.3')
        .set('Content-Type', 'application/json')
        .send(text)
        .expect(200);
      expect(ids.body).toEqual([sent.id]);
      const fetched = await http(app).get(`/api/v1/xapi/statements?statementId=${sent.id}`).set('Authorization', `Bearer ${key.key}`).set('X-Experience-API-Version', '1.0.3').expect(200);
      expect(fetched.body).toEqual({ ...sent, timestamp: fetched.body.stored, stored: expect.any(String), version: '1.0.0', authority: { objectType: 'Agent', account: { homePage: expect.any(String), name: key.id } } });
    }
    const [events] = await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [account.organization.id]);
    expect(events.n).toBe(2);
  });
});
