import { randomUUID } from 'node:crypto';
import { http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { recordFailedTransactions } from './support/aborted-transactions';

const ADL = 'http://adlnet.gov/expapi/verbs/';
const CLIENTS = 4;
const ROUNDS = 16;
const random = (below: number) => Math.floor(Math.random() * below);
const DAY_MS = 86_400_000;

interface Sent {
  learner: string;
  /** null: an event by the learner's id (a session), not a statement. */
  activity: string | null;
  quiz: boolean;
  day: string;
}

/**
 * Several LMS clients at once, each batch naming learners and activities the others name too, most of them new,
 * with events over ten days: every batch creates learners and content and adds to the same rollup rows. Beside
 * them, batches of events by known learners' ids, roster imports that rename known learners and add new ones, and an
 * admin deactivating a known learner.
 */
describe('concurrent xAPI batches, event batches, roster imports and user changes of one organization', () => {
  let app: TestApp;
  let admin: SignedUp;
  let basic: string;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } });
    admin = await signup(app);
    const key = (await http(app).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'LMS', scopes: ['events:write'] }).expect(201)).body;
    basic = `Basic ${Buffer.from(`${key.prefix}:${key.key}`).toString('base64')}`;
  });
  afterAll(() => app.close());

  const one = <T>(sql: string): Promise<T> => app.dataSource.query(sql, [admin.organization.id]).then((rows: T[]) => rows[0]);

  it('all succeed at the first attempt, and every learner, item, event and rollup figure is counted once', async () => {
    const known = async () =>
      (await app.dataSource.query(`SELECT id, external_id FROM users WHERE organization_id = $1 AND external_id LIKE 'https://lms.example|learner-%' ORDER BY external_id`, [
        admin.organization.id,
      ])) as { id: string; external_id: string }[];
    const events = (learners: { id: string; external_id: string }[]) =>
      Array.from({ length: 200 }, () => {
        const learner = learners[random(learners.length)];
        const occurred = new Date(now - random(10 * DAY_MS) - 60_000);
        sent.push({ learner: learner.external_id, activity: null, quiz: false, day: occurred.toISOString().slice(0, 10) });
        return { id: randomUUID(), type: 'session', user_id: learner.id, duration_seconds: 600, occurred_at: occurred.toISOString() };
      });
    let rosterCreated = 0;
    const roster = (round: number, learners: { external_id: string }[]) => ({
      users: [
        ...learners.slice(0, 15).map((learner) => ({ external_id: learner.external_id, name: `Renamed in round ${round}` })),
        ...Array.from({ length: 15 }, (_, index) => ({ external_id: `roster-${round}-${index}`, name: `Roster ${round}-${index}` })),
      ],
    });
    // A transaction PostgreSQL aborted as a deadlock would be run again silently: count them.
    const { aborted, restore } = recordFailedTransactions();

    const sent: Sent[] = [];
    const now = Date.now();
    const batch = (round: number) =>
      Array.from({ length: 300 }, () => {
        // Each client draws its own learners, activities and days from pools the round's clients share; a third of
        // the learners come back in later rounds. Different first days per client is what made their rollup rows cross.
        const learner = `learner-${round % 3}-${random(400)}`;
        const quiz = random(10) < 3;
        const activity = `https://lms.example/${quiz ? 'quiz' : 'lesson'}/${round % 3}-${random(40)}`;
        const timestamp = new Date(now - random(10 * DAY_MS) - 60_000);
        sent.push({ learner: `https://lms.example|${learner}`, activity, quiz, day: timestamp.toISOString().slice(0, 10) });
        return {
          id: randomUUID(),
          actor: { account: { homePage: 'https://lms.example', name: learner } },
          verb: { id: quiz ? `${ADL}passed` : `${ADL}completed` },
          object: { objectType: 'Activity', id: activity, definition: { type: `http://adlnet.gov/expapi/activities/${quiz ? 'assessment' : 'lesson'}` } },
          result: { score: { scaled: 0.5 } },
          timestamp: timestamp.toISOString(),
        };
      });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const learners = await known();
        const bodies = Array.from({ length: CLIENTS }, () => batch(round));
        const requests = bodies.map((body) => http(app).post('/api/v1/xapi/statements').set('Authorization', basic).set('X-Experience-API-Version', '1.0.3').send(body));
        if (learners.length > 0) {
          const bearer = `Bearer ${admin.token}`;
          requests.push(http(app).post('/api/v1/events').set('Authorization', bearer).send({ events: events(learners) }));
          requests.push(http(app).post('/api/v1/events').set('Authorization', bearer).send({ events: events(learners) }));
          requests.push(http(app).post('/api/v1/users/import').set('Authorization', bearer).send(roster(round, learners)));
          rosterCreated += 15;
          // And an admin deactivating a learner whose rows these batches take (its rollup rows move too).
          requests.push(http(app).patch(`/api/v1/users/${learners[round % learners.length].id}`).set('Authorization', bearer).send({ is_active: false }));
        }
        const responses = await Promise.all(requests);
        expect(responses.map((response) => response.status)).toEqual(requests.map((_, index) => (index >= CLIENTS && index < CLIENTS + 2 ? 202 : 200)));
      }
    } finally {
      restore();
    }
    expect(aborted).toEqual([]);

    const learners = new Set(sent.map((s) => s.learner));
    const activities = new Set(sent.flatMap((s) => (s.activity === null ? [] : [s.activity])));
    const lessons = sent.filter((s) => s.activity !== null && !s.quiz).length;
    const assessments = sent.filter((s) => s.quiz).length;
    const activeDays = new Set(sent.map((s) => `${s.learner} ${s.day}`));
    expect(await one(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND external_id LIKE 'https://lms.example|learner-%'`)).toEqual({ n: learners.size });
    expect(await one(`SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND external_id LIKE 'roster-%'`)).toEqual({ n: rosterCreated });
    expect(await one(`SELECT count(*)::int AS n FROM educational_content WHERE organization_id = $1 AND external_id IS NOT NULL`)).toEqual({ n: activities.size });
    expect(await one(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`)).toEqual({ n: sent.length });
    expect(
      await one(`SELECT sum(events)::int AS events, sum(lessons_completed)::int AS lessons, sum(assessments)::int AS assessments,
                        sum(daily_active_users)::int AS active, sum(new_users)::int AS new_users, sum(content_created)::int AS content
                   FROM daily_rollups WHERE organization_id = $1`),
    ).toEqual({
      events: sent.length,
      lessons,
      assessments,
      active: activeDays.size,
      new_users: learners.size + rosterCreated + 1, // and the admin who signed up
      content: activities.size,
    });
  });
});
