import { describeLargeOrganization } from '../bench/bench-database';
import { LIVE_WINDOW_MS } from '../bench/ingestion';
import { createContent, createUser, event, http, signup } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { databaseUrl, workerDatabaseName } from './support/test-env';

/** What the bench reports of the large organization as a run begins, the events in the ingestion phases' window included. */
describe('bench: the large organization as a run begins', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } });
  });
  afterAll(() => app.close());

  it('counts its users, events and content, and the events dated within the last 6 hours before the run', async () => {
    const admin = await signup(app);
    const learner = await createUser(app, admin.token);
    await createContent(app, admin.token);
    const now = new Date(Date.now() - 60_000);
    const at = (msBeforeNow: number) => new Date(now.getTime() - msBeforeNow).toISOString();
    const events = [
      event(learner.id, { occurred_at: at(0) }),
      event(learner.id, { occurred_at: at(3_600_000) }),
      event(learner.id, { occurred_at: at(LIVE_WINDOW_MS - 1_000) }),
      // The window's start is outside it, and so is anything older or after the run began.
      event(learner.id, { occurred_at: at(LIVE_WINDOW_MS) }),
      event(learner.id, { occurred_at: at(LIVE_WINDOW_MS + 3_600_000) }),
      event(learner.id, { occurred_at: at(3 * 86_400_000) }),
      event(learner.id, { occurred_at: at(-30_000) }),
    ];
    await http(app).post('/api/v1/events').set('Authorization', `Bearer ${admin.token}`).send({ events }).expect(202);
    // Another organization's events in the window are not the large organization's.
    const other = await signup(app);
    const otherLearner = await createUser(app, other.token);
    await http(app).post('/api/v1/events').set('Authorization', `Bearer ${other.token}`).send({ events: [event(otherLearner.id, { occurred_at: at(60_000) })] }).expect(202);

    const data = await describeLargeOrganization(databaseUrl(workerDatabaseName()), admin.organization.id, now);
    expect(data).toEqual({ users: 2, events: 7, events_in_live_window: 3, content: 1 });
  });
});
