import { createUser, event, http, signup, SignedUp } from './support/factories';
import { LocalPgBouncer } from './support/pgbouncer';
import { ADMIN_DATABASE_URL, workerDatabaseName } from './support/test-env';
import { createTestApp, TestApp } from './support/test-app';

/**
 * The service unchanged behind PgBouncer in transaction pooling mode, with fewer server connections (2) than the
 * service's pool (5): transactions of different organizations share server connections, so any setting that
 * outlived its transaction, or a named prepared statement, would show here.
 */
describe('behind PgBouncer in transaction pooling mode', () => {
  let bouncer: LocalPgBouncer;
  let app: TestApp;

  beforeAll(async () => {
    const upstream = new URL(ADMIN_DATABASE_URL);
    bouncer = await LocalPgBouncer.start({ host: upstream.hostname, port: Number(upstream.port || 5432) }, 2);
    app = await createTestApp({ env: { DATABASE_URL: bouncer.url(workerDatabaseName()), RATE_LIMIT_ENABLED: 'false' } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await bouncer?.stop();
  });

  it('serves writes and reads of many organizations at once, each seeing only its own rows', async () => {
    const organizations: { admin: SignedUp; learners: string[] }[] = [];
    for (let index = 0; index < 4; index++) {
      const admin = await signup(app);
      const learners: string[] = [];
      for (let learner = 0; learner <= index; learner++) learners.push((await createUser(app, admin.token)).id);
      organizations.push({ admin, learners });
    }
    // Events for every learner, all organizations at once.
    await Promise.all(
      organizations.map(({ admin, learners }) =>
        http(app)
          .post('/api/v1/events')
          .set('Authorization', `Bearer ${admin.token}`)
          .send({ events: learners.map((id) => event(id, { type: 'lesson_completed', score: 80 })) })
          .expect((response) => expect(response.status).toBeLessThan(300)),
      ),
    );
    // Many concurrent reads interleave the organizations' transactions on the two server connections.
    const rounds = await Promise.all(
      Array.from({ length: 5 }).flatMap(() =>
        organizations.map(async ({ admin, learners }) => {
          const [users, dashboard] = await Promise.all([
            http(app).get('/api/v1/users?limit=100').set('Authorization', `Bearer ${admin.token}`).expect(200),
            http(app).get('/api/v1/metrics/dashboard?force_refresh=true').set('Authorization', `Bearer ${admin.token}`).expect(200),
          ]);
          return { admin, learners, users: users.body.items as { id: string }[], dashboard: dashboard.body };
        }),
      ),
    );
    for (const { admin, learners, users, dashboard } of rounds) {
      expect(users.map((user) => user.id).sort()).toEqual([admin.user.id, ...learners].sort());
      expect(dashboard.organization_id).toBe(admin.organization.id);
      expect(dashboard.user_metrics.total_users).toBe(learners.length + 1);
      expect(dashboard.engagement_metrics.total_lessons_completed).toBe(learners.length);
    }
    await http(app).get('/health/ready').expect(200);
  });
});
