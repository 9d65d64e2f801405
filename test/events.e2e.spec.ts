import { randomUUID } from 'node:crypto';
import { TenantTransactions } from '../src/database/tenant-transactions';
import { EventsRepository } from '../src/events/events.repository';
import { createContent, createUser, event, http, signup, SignedUp } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('events', () => {
  let app: TestApp;
  let admin: SignedUp;
  let learner: string;
  let lesson: string;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signup(app);
    learner = (await createUser(app, admin.token)).id;
    lesson = (await createContent(app, admin.token)).id;
  });
  afterAll(() => app.close());

  const push = (events: unknown, token = admin.token) => http(app).post('/api/v1/events').set('Authorization', `Bearer ${token}`).send({ events });
  const stored = async (organizationId = admin.organization.id): Promise<number> =>
    (await app.dataSource.query(`SELECT count(*)::int AS n FROM activity_events WHERE organization_id = $1`, [organizationId]))[0].n;

  it('stores every field of each event type', async () => {
    const at = '2025-06-01T10:00:00.000Z';
    const batch = [
      event(learner, { type: 'login', occurred_at: at }),
      event(learner, { type: 'session', occurred_at: at, duration_seconds: 600 }),
      event(learner, { type: 'lesson_completed', occurred_at: at, content_id: lesson, score: 87.5 }),
      event(learner, { type: 'assessment_submitted', occurred_at: at, content_id: lesson, score: 0 }),
    ];
    const response = await push(batch).expect(202);
    expect(response.body).toEqual({ accepted: 4, duplicates: 0 });
    const rows = await app.dataSource.query(
      `SELECT id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at >= now() - interval '1 minute' AS received_now
         FROM activity_events WHERE id = ANY($1::uuid[]) ORDER BY type`,
      [batch.map((e) => e.id)],
    );
    expect(rows).toEqual([
      { id: batch[3].id, user_id: learner, type: 'assessment_submitted', content_id: lesson, occurred_at: new Date(at), duration_seconds: null, score: 0, received_now: true },
      { id: batch[2].id, user_id: learner, type: 'lesson_completed', content_id: lesson, occurred_at: new Date(at), duration_seconds: null, score: 87.5, received_now: true },
      { id: batch[0].id, user_id: learner, type: 'login', content_id: null, occurred_at: new Date(at), duration_seconds: null, score: null, received_now: true },
      { id: batch[1].id, user_id: learner, type: 'session', content_id: null, occurred_at: new Date(at), duration_seconds: 600, score: null, received_now: true },
    ]);
  });

  it('generates ids for events sent without one', async () => {
    const school = await signup(app);
    const user = await createUser(app, school.token);
    const response = await push([{ type: 'login', user_id: user.id, occurred_at: new Date().toISOString() }, { type: 'login', user_id: user.id, occurred_at: new Date().toISOString() }], school.token).expect(202);
    expect(response.body).toEqual({ accepted: 2, duplicates: 0 });
    expect(await stored(school.organization.id)).toBe(2);
  });

  it('takes 1 and 1000 events, refuses 0 and 1001 and writes nothing', async () => {
    const school = await signup(app);
    const user = await createUser(app, school.token);
    const many = (n: number) => Array.from({ length: n }, (_, i) => event(user.id, { occurred_at: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() }));
    expect((await push(many(1), school.token).expect(202)).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await push(many(1000), school.token).expect(202)).body).toEqual({ accepted: 1000, duplicates: 0 });
    const empty = await push([], school.token).expect(400);
    expect(empty.body.errors).toEqual([{ field: 'events', message: 'events must contain at least 1 elements' }]);
    const tooMany = await push(many(1001), school.token).expect(400);
    expect(tooMany.body.errors).toEqual([{ field: 'events', message: 'events must contain no more than 1000 elements' }]);
    const notArray = await push('login', school.token).expect(400);
    expect(notArray.body.errors.map((e: { field: string }) => e.field)).toContain('events');
    expect(await stored(school.organization.id)).toBe(1001);
  });

  it('names an event sent as an array by its index, and writes none of the batch', async () => {
    const before = await stored();
    const good = event(learner);
    const response = await push([good, [good], good, [[good]]]).expect(400);
    expect(response.body.errors).toEqual([
      { field: 'events[1]', message: 'events[1] must be an event object, not an array' },
      { field: 'events[3]', message: 'events[3] must be an event object, not an array' },
    ]);
    expect(await stored()).toBe(before);
  });

  it('keeps the reference to users in the database as well: an event of another organization\'s user is refused with 23503', async () => {
    const other = await signup(app);
    const stranger = (await createUser(app, other.token)).id;
    const insert = (userId: string) =>
      app.dataSource.query(`INSERT INTO activity_events (organization_id, user_id, type, occurred_at) VALUES ($1, $2, 'login', now()), ($1, $3, 'login', now())`, [
        admin.organization.id,
        learner,
        userId,
      ]);
    const before = await stored();
    await expect(insert(stranger)).rejects.toMatchObject({ driverError: { code: '23503' } });
    await expect(insert(randomUUID())).rejects.toMatchObject({ driverError: { code: '23503' } });
    expect(await stored()).toBe(before);
    await insert(learner);
    expect(await stored()).toBe(before + 2);
  });

  it('lists each bad event by index and field, and writes none of the batch', async () => {
    const before = await stored();
    const inFiveMinutes = new Date(Date.now() + 6 * 60_000).toISOString();
    const response = await push([
      event(learner),
      event(learner, { type: 'logout' }),
      event(learner, { occurred_at: inFiveMinutes }),
      event(learner, { type: 'session' }),
      event(learner, { type: 'assessment_submitted', score: 101 }),
      event(learner, { type: 'lesson_completed', score: -1 }),
      event(learner, { user_id: 'not-a-uuid', extra: 1 }),
      event(learner, { duration_seconds: 1.5 }),
    ]).expect(400);
    expect(response.body.type).toBe('https://toolbox-metrics.dev/problems/validation-failed');
    expect(response.body.detail).toBe('7 event(s) are invalid; nothing was written');
    expect(response.body.errors).toEqual([
      { field: 'events[1].type', message: 'type must be one of the following values: login, session, lesson_completed, assessment_submitted' },
      { field: 'events[2].occurred_at', message: 'occurred_at must be an ISO 8601 date-time with a time zone, at most 5 minutes in the future' },
      { field: 'events[3].duration_seconds', message: 'duration_seconds is required for session events' },
      { field: 'events[4].score', message: 'score must not be greater than 100' },
      { field: 'events[5].score', message: 'score must not be less than 0' },
      { field: 'events[6].extra', message: 'property extra should not exist' },
      { field: 'events[6].user_id', message: 'user_id must be a UUID' },
      { field: 'events[7].duration_seconds', message: 'duration_seconds must be an integer number' },
    ]);
    expect(await stored()).toBe(before);

    // The rules that need the database: users and content of this organization.
    const other = await signup(app);
    const foreignUser = await createUser(app, other.token);
    const foreignContent = await createContent(app, other.token);
    const references = await push([
      event(learner),
      event(learner, { type: 'session' }),
      event(foreignUser.id),
      event(learner, { type: 'lesson_completed', content_id: foreignContent.id }),
      event(randomUUID()),
    ]).expect(400);
    expect(references.body.detail).toBe('4 event(s) are invalid; nothing was written');
    expect(references.body.errors).toEqual([
      { field: 'events[1].duration_seconds', message: 'duration_seconds is required for session events' },
      { field: 'events[2].user_id', message: 'user_id is not a user of this organization' },
      { field: 'events[3].content_id', message: 'content_id is not content of this organization' },
      { field: 'events[4].user_id', message: 'user_id is not a user of this organization' },
    ]);
    expect(await stored()).toBe(before);
  });

  it('names shape errors and database rules of different events in one answer, in index order', async () => {
    const before = await stored();
    const other = await signup(app);
    const foreignUser = await createUser(app, other.token);
    const response = await push([
      event(foreignUser.id),
      event(learner, { score: 101 }),
      event(learner, { type: 'session', duration_seconds: null }),
      event('not-a-uuid', { content_id: randomUUID() }),
    ]).expect(400);
    expect(response.body.detail).toBe('4 event(s) are invalid; nothing was written');
    expect(response.body.errors).toEqual([
      { field: 'events[0].user_id', message: 'user_id is not a user of this organization' },
      { field: 'events[1].score', message: 'score must not be greater than 100' },
      { field: 'events[2].duration_seconds', message: 'duration_seconds is required for session events' },
      { field: 'events[3].user_id', message: 'user_id must be a UUID' },
      { field: 'events[3].content_id', message: 'content_id is not content of this organization' },
    ]);
    expect(await stored()).toBe(before);
  });

  it('accepts occurred_at up to 5 minutes ahead', async () => {
    const response = await push([event(learner, { occurred_at: new Date(Date.now() + 4 * 60_000).toISOString() })]).expect(202);
    expect(response.body).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('skips ids already stored, also within one batch, and counts them as duplicates', async () => {
    const school = await signup(app);
    const user = await createUser(app, school.token);
    const batch = [event(user.id), event(user.id), event(user.id, { type: 'session', duration_seconds: 60 })];
    expect((await push(batch, school.token).expect(202)).body).toEqual({ accepted: 3, duplicates: 0 });
    expect((await push(batch, school.token).expect(202)).body).toEqual({ accepted: 0, duplicates: 3 });
    const fresh = event(user.id);
    expect((await push([...batch.slice(0, 2), fresh, fresh], school.token).expect(202)).body).toEqual({ accepted: 1, duplicates: 3 });
    expect(await stored(school.organization.id)).toBe(4);
  });

  // A client that times out and sends its batch again while the first request is still being stored.
  it.each([
    ['the same occurred_at', '2025-06-01T10:00:00.000Z'],
    ['another occurred_at (another month)', '2025-07-15T10:00:00.000Z'],
  ])('skips an id that a concurrent batch is storing, once that batch commits: %s', async (_, resentAt) => {
    const school = await signup(app);
    const user = await createUser(app, school.token);
    const organizationId = school.organization.id;
    const first = { id: randomUUID(), type: 'login', user_id: user.id, occurred_at: '2025-06-01T10:00:00.000Z' };
    const other = event(user.id, { occurred_at: '2025-06-02T10:00:00.000Z' });
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let firstBackend!: (pid: number) => void;
    const firstPid = new Promise<number>((resolve) => (firstBackend = resolve));
    // The first batch, stored by the same repository, in a transaction kept open until the second one waits for it.
    const firstBatch = app.get(TenantTransactions).run(organizationId, async (manager) => {
      await app.get(EventsRepository).insertBatch(organizationId, [{ id: first.id, userId: user.id, type: 'login', contentId: null, occurredAt: new Date(first.occurred_at), durationSeconds: null, score: null }]);
      firstBackend((await manager.query(`SELECT pg_backend_pid() AS pid`))[0].pid);
      await held;
    });
    // Sent only once the first batch holds its row: sent earlier, it can reach PostgreSQL first on a busy machine.
    const pid = await firstPid;
    // then() sends the request now (supertest sends on then); it is awaited once the first batch has committed.
    let answered: string | null = null;
    const second = push([{ ...first, occurred_at: resentAt }, other], school.token).then((response) => {
      answered = `${response.status} ${JSON.stringify(response.body)}`;
      return response;
    });
    await waitUntilBlockedBy(pid, () => answered);
    // The same id in another organization is another event: stored at once, neither waiting nor skipped.
    const neighbour = await signup(app);
    const neighbourUser = await createUser(app, neighbour.token);
    expect((await push([{ ...first, user_id: neighbourUser.id }], neighbour.token).expect(202)).body).toEqual({ accepted: 1, duplicates: 0 });
    expect(await stored(neighbour.organization.id)).toBe(1);
    commit();
    await firstBatch;
    const response = await second;
    expect({ status: response.status, body: response.body }).toEqual({ status: 202, body: { accepted: 1, duplicates: 1 } });
    const rows = await app.dataSource.query(`SELECT id, occurred_at FROM activity_events WHERE organization_id = $1 ORDER BY occurred_at`, [organizationId]);
    expect(rows).toEqual([
      { id: first.id, occurred_at: new Date(first.occurred_at) },
      { id: other.id, occurred_at: new Date(other.occurred_at) },
    ]);
    const [rollup] = await app.dataSource.query(`SELECT sum(events)::int AS events, sum(daily_active_users)::int AS active_days FROM daily_rollups WHERE organization_id = $1`, [organizationId]);
    expect(rollup).toEqual({ events: 2, active_days: 2 });
  });

  /** Until another backend's insert of events waits for the transaction of backend `pid` (the second batch, behind the first). */
  async function waitUntilBlockedBy(pid: number, answered: () => string | null): Promise<void> {
    // A deadline well inside the test's 30 s: a busy CI machine can take seconds to carry the request that far.
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const [row] = await app.dataSource.query(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE '%INSERT INTO activity_events%'`,
        [pid],
      );
      if (row.waiting > 0) return;
      // Answered without waiting: nothing left to wait for.
      if (answered() !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // What each backend of this database was doing, to tell a request that never arrived from one waiting elsewhere.
    const backends = await app.dataSource.query(
      `SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blocked_by, left(query, 120) AS query
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    throw new Error(`The second batch never waited for the first (backend ${pid}); its answer: ${answered() ?? 'none yet'}; backends: ${JSON.stringify(backends)}`);
  }

  it('moves last_active_at and last_login_at forward only', async () => {
    const school = await signup(app);
    const user = await createUser(app, school.token);
    const read = async () => {
      const [row] = await app.dataSource.query(`SELECT last_active_at, last_login_at FROM users WHERE id = $1`, [user.id]);
      return { active: row.last_active_at?.toISOString() ?? null, login: row.last_login_at?.toISOString() ?? null };
    };
    await push([event(user.id, { type: 'session', duration_seconds: 60, occurred_at: '2025-06-10T12:00:00Z' })], school.token).expect(202);
    expect(await read()).toEqual({ active: '2025-06-10T12:00:00.000Z', login: null });

    await push([event(user.id, { type: 'login', occurred_at: '2025-06-11T08:00:00Z' }), event(user.id, { type: 'lesson_completed', occurred_at: '2025-06-11T09:00:00Z' })], school.token).expect(202);
    expect(await read()).toEqual({ active: '2025-06-11T09:00:00.000Z', login: '2025-06-11T08:00:00.000Z' });

    // Late, older events are stored but pull nothing back.
    const late = await push([event(user.id, { type: 'login', occurred_at: '2025-06-01T08:00:00Z' })], school.token).expect(202);
    expect(late.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(await read()).toEqual({ active: '2025-06-11T09:00:00.000Z', login: '2025-06-11T08:00:00.000Z' });
  });
});
