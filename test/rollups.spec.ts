import { randomBytes, randomUUID } from 'node:crypto';
import { hashPassword } from '../src/auth/password-hasher';
import { MetricsRepository } from '../src/metrics/metrics.repository';
import { periodWindow, startOfUtcDay } from '../src/metrics/periods';
import { rebuildRollupsCommand } from '../src/rollups/rebuild-rollups.command';
import { RollupsRepository } from '../src/rollups/rollups.repository';
import { seedOrganization } from '../src/seed/organization-generator';
import { Random } from '../src/seed/random';
import { http } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { recordFailedTransactions } from './support/aborted-transactions';

const DAY_MS = 86_400_000;
const TYPES = ['login', 'session', 'lesson_completed', 'assessment_submitted'] as const;

/**
 * Speed costs no correctness: on randomly generated organizations, changed afterwards through the API (users,
 * content, event batches with replays and out-of-order backfill), every rollup-based dashboard figure equals the
 * raw-SQL figure of MetricsRepository, and the incrementally maintained rollups equal a rebuild from raw tables.
 */
describe('rollups', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp();
  });

  afterAll(async () => {
    await testApp.close();
  });

  async function seeded(seed: number) {
    const password = 'a long enough password';
    const email = `rollups.${randomBytes(5).toString('hex')}@example.test`;
    const slug = `rollups-${randomBytes(5).toString('hex')}`;
    const organization = await testApp.dataSource.transaction(async (manager) =>
      seedOrganization(manager, {
        name: `Rollups ${seed}`,
        slug,
        tier: 'enterprise',
        users: 30 + (seed % 20),
        days: 50,
        eventsPerUserPerDay: 0.4 + (seed % 5) / 10,
        contentItems: 12,
        seed,
        now: new Date(),
        admin: { email, name: 'Seeded Admin', passwordHash: await hashPassword(password) },
      }),
    );
    // The seed's bulk inserts (5,000 events a statement, owner connection) keep the rollups through the same triggers.
    const login = await http(testApp).post('/api/v1/auth/login').send({ email, password }).expect(200);
    return { organizationId: organization.organizationId, token: login.body.access_token as string };
  }

  async function userIds(organizationId: string): Promise<string[]> {
    const rows: { id: string }[] = await testApp.dataSource.query(`SELECT id FROM users WHERE organization_id = $1 ORDER BY id`, [organizationId]);
    return rows.map((row) => row.id);
  }

  /** Writes through the API that change every rollup: users (one imported 40 days back), activation, content, events. */
  async function writeThroughApi(organizationId: string, token: string, random: Random) {
    const auth = { Authorization: `Bearer ${token}` };
    const now = Date.now();
    const imported = await http(testApp)
      .post('/api/v1/users')
      .set(auth)
      .send({ email: `imported.${randomBytes(4).toString('hex')}@example.test`, name: 'Imported', role: 'student', created_at: new Date(now - 40 * DAY_MS).toISOString() })
      .expect(201);
    const fresh = await http(testApp).post('/api/v1/users').set(auth).send({ email: `fresh.${randomBytes(4).toString('hex')}@example.test`, name: 'Fresh', role: 'teacher' }).expect(201);
    const ids = await userIds(organizationId);
    await http(testApp).patch(`/api/v1/users/${ids[1]}`).set(auth).send({ is_active: false }).expect(200);
    await http(testApp).patch(`/api/v1/users/${ids[2]}`).set(auth).send({ is_active: false }).expect(200);
    await http(testApp).patch(`/api/v1/users/${ids[2]}`).set(auth).send({ is_active: true }).expect(200);

    const draft = await http(testApp).post('/api/v1/content').set(auth).send({ title: 'Draft', content_type: 'lesson', generation_time_ms: 1500 }).expect(201);
    const old = await http(testApp)
      .post('/api/v1/content')
      .set(auth)
      .send({ title: 'Old', content_type: 'quiz', status: 'published', generation_time_ms: 2750, created_at: new Date(now - 20 * DAY_MS).toISOString() })
      .expect(201);
    await http(testApp).post('/api/v1/content').set(auth).send({ title: 'No timing', content_type: 'project' }).expect(201);
    await http(testApp).patch(`/api/v1/content/${draft.body.id}`).set(auth).send({ status: 'published' }).expect(200);
    await http(testApp).patch(`/api/v1/content/${old.body.id}`).set(auth).send({ status: 'archived' }).expect(200);
    await http(testApp).delete(`/api/v1/content/${old.body.id}`).set(auth).expect((response) => expect([200, 204]).toContain(response.status));

    // Backfill in random order over 45 days (older than the seeded window's start too), then replays of a sample.
    const users = [...ids, imported.body.id as string, fresh.body.id as string];
    const sent: Record<string, unknown>[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const events = Array.from({ length: 150 }, () => {
        const type = random.pick(TYPES);
        return {
          id: random.uuid(),
          type,
          user_id: random.pick(users),
          occurred_at: new Date(now - random.int(0, 45 * DAY_MS)).toISOString(),
          ...(type === 'session' ? { duration_seconds: random.int(60, 5400) } : {}),
          // A score is optional: some assessments come without one, and avg_score must not count them.
          ...(type === 'lesson_completed' || (type === 'assessment_submitted' && random.chance(0.8)) ? { score: random.int(0, 1000) / 10 } : {}),
        };
      });
      const replays = sent.filter(() => random.chance(0.1));
      const response = await http(testApp).post('/api/v1/events').set(auth).send({ events: [...events, ...replays] }).expect(202);
      expect(response.body).toEqual({ accepted: 150, duplicates: replays.length });
      sent.push(...events);
    }
    // The same user on consecutive and repeated days, in one batch and in the next: neighbours inside a batch.
    const regular = users[3];
    const streak = [0, 1, 1, 2, 5, 9, 31, 3].map((daysAgo, k) => ({ id: random.uuid(), type: 'login', user_id: regular, occurred_at: new Date(now - daysAgo * DAY_MS - k * 1000).toISOString() }));
    await http(testApp).post('/api/v1/events').set(auth).send({ events: streak }).expect(202);
    await http(testApp).post('/api/v1/events').set(auth).send({ events: [{ id: random.uuid(), type: 'login', user_id: regular, occurred_at: new Date(now - 4 * DAY_MS).toISOString() }] }).expect(202);
  }

  /** The organization's rollup rows, without days or minutes whose changes cancelled out (a rebuild writes no such row). */
  async function rollupRows(organizationId: string) {
    const rows: Record<string, unknown>[] = await testApp.dataSource.query(`SELECT * FROM daily_rollups WHERE organization_id = $1 ORDER BY day`, [organizationId]);
    const minutes: { minute: Date; users: number }[] = await testApp.dataSource.query(
      `SELECT minute, users FROM last_active_minutes WHERE organization_id = $1 AND users <> 0 ORDER BY minute`,
      [organizationId],
    );
    // Each user's active days as a bit string: a rebuild writes them from the raw events.
    const activeDays: { id: string; active_from: string | null; active_days: string | null }[] = await testApp.dataSource.query(
      `SELECT id, active_from::text, active_days::text FROM users WHERE organization_id = $1 ORDER BY id`,
      [organizationId],
    );
    return {
      activeDays,
      days: rows
        .filter((row) => Object.entries(row).some(([column, value]) => column !== 'organization_id' && column !== 'day' && Number(value) !== 0))
        // Fractional scores summed in another order differ in the last bits of a double: compare to 1e-9.
        .map((row) => ({ ...row, assessment_score_sum: Number(Number(row.assessment_score_sum).toFixed(9)) })),
      minutes,
    };
  }

  /** Every user's bits name exactly the UTC days of that user's stored events. */
  async function expectActiveDaysOfRawEvents(organizationId: string) {
    const users: { id: string; from_events: string[] | null; from_bits: string[] | null }[] = await testApp.dataSource.query(
      `SELECT u.id,
              (SELECT array_agg(day::text ORDER BY day) FROM (SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS day FROM activity_events e
                                                              WHERE e.organization_id = u.organization_id AND e.user_id = u.id) d) AS from_events,
              (SELECT array_agg((u.active_from + (bit.n - 1)::int)::text ORDER BY bit.n)
                 FROM string_to_table(u.active_days::text, NULL) WITH ORDINALITY AS bit (value, n) WHERE bit.value = '1') AS from_bits
         FROM users u WHERE u.organization_id = $1`,
      [organizationId],
    );
    expect(users.filter((user) => JSON.stringify(user.from_events) !== JSON.stringify(user.from_bits))).toEqual([]);
    expect(users.filter((user) => (user.from_events?.length ?? 0) > 1).length).toBeGreaterThan(0);
  }

  /** Averages agree to 1e-9 (SQL's numeric avg against a float division), and are null together. */
  function expectSameAverage(fromRollups: number | null, fromRawSql: number | null) {
    if (fromRawSql === null) expect(fromRollups).toBeNull();
    else expect(fromRollups).toBeCloseTo(fromRawSql, 9);
  }

  /** At the real now, and at earlier instants: the rollups then also hold rows after "now", which must not count. */
  async function expectRollupsToMatchRawSql(organizationId: string) {
    const real = Date.now();
    for (const hoursBack of [0, 3, 29, 24 * 9 + 5, 0.5]) await expectFiguresAt(organizationId, new Date(real - hoursBack * 3_600_000));
  }

  async function expectFiguresAt(organizationId: string, now: Date) {
    const today = startOfUtcDay(now);
    const raw = testApp.get(MetricsRepository);
    const rollups = await testApp.get(RollupsRepository).dashboardFigures(organizationId, now, today, 7);
    const [users, content, engagement, engagementDays, series] = await Promise.all([
      raw.userFigures(organizationId, now, today),
      raw.contentFigures(organizationId, now, today),
      raw.engagementFigures(organizationId, now, today),
      raw.engagementDays(organizationId, now, today, 7),
      raw.activitySeries(organizationId, { since: new Date(today.getTime() - 6 * DAY_MS), bucketSeconds: 86400, buckets: 7, now }),
    ]);
    expect(rollups.users).toEqual(users);
    const { avg_generation_ms, ...contentCounts } = rollups.content;
    expect({ ...contentCounts, avg_generation_ms: null }).toEqual({ ...content, avg_generation_ms: null });
    expectSameAverage(avg_generation_ms, content.avg_generation_ms);
    const { avg_session_seconds, ...engagementCounts } = rollups.engagement;
    expect({ ...engagementCounts, avg_session_seconds: null }).toEqual({ ...engagement, avg_session_seconds: null });
    expectSameAverage(avg_session_seconds, engagement.avg_session_seconds);
    expect(rollups.engagementDays).toEqual(engagementDays);
    expect(rollups.trend).toEqual(
      series.map(({ bucket_start, active_users, new_users, content_created, lessons_completed, assessments_submitted }) => ({
        bucket_start,
        active_users,
        new_users,
        content_created,
        lessons_completed,
        assessments_submitted,
      })),
    );
    await expectSameDailySeries(organizationId, now);
    // The figures are not trivially zero: the generated organizations have activity in every family.
    expect(users.retention_cohort).toBeGreaterThan(0);
    expect(engagementDays[6].active_users_w30).toBeGreaterThan(0);
  }

  /** Statistics and exports over 7, 30 and 90 days read the rollups: every bucket equals the raw-SQL bucket. */
  async function expectSameDailySeries(organizationId: string, now: Date) {
    for (const period of ['7d', '30d', '90d'] as const) {
      const window = periodWindow(period, now);
      const [fromRollups, fromRawSql] = await Promise.all([
        testApp.get(RollupsRepository).dailySeries(organizationId, window),
        testApp.get(MetricsRepository).activitySeries(organizationId, window),
      ]);
      expect(fromRollups).toHaveLength(fromRawSql.length);
      const averages = ['avg_generation_seconds', 'avg_session_minutes', 'avg_score'] as const;
      fromRawSql.forEach((raw, index) => {
        const rollup = fromRollups[index];
        for (const field of averages) expectSameAverage(rollup[field], raw[field]);
        expect({ ...rollup, avg_generation_seconds: null, avg_session_minutes: null, avg_score: null }).toEqual({
          ...raw,
          avg_generation_seconds: null,
          avg_session_minutes: null,
          avg_score: null,
        });
      });
      expect(fromRawSql.some((bucket) => bucket.assessments_submitted > 0 && bucket.active_users > 0)).toBe(true);
    }
  }

  it.each([101, 202, 303])('every rollup-based figure equals the raw-SQL figure (seed %i)', async (seed) => {
    const { organizationId, token } = await seeded(seed);
    await expectRollupsToMatchRawSql(organizationId);

    await expectActiveDaysOfRawEvents(organizationId);
    await writeThroughApi(organizationId, token, new Random(seed * 7));
    await expectRollupsToMatchRawSql(organizationId);
    await expectActiveDaysOfRawEvents(organizationId);

    // Incremental maintenance leaves exactly what a rebuild from the raw tables computes.
    const incremental = await rollupRows(organizationId);
    await testApp.get(RollupsRepository).rebuild(organizationId);
    expect(await rollupRows(organizationId)).toEqual(incremental);
  });

  it('keeps each organization to its own rollups', async () => {
    const first = await seeded(404);
    const second = await seeded(505);
    const before = await rollupRows(second.organizationId);
    await writeThroughApi(first.organizationId, first.token, new Random(9));
    expect(await rollupRows(second.organizationId)).toEqual(before);
    await expectRollupsToMatchRawSql(first.organizationId);
    await expectRollupsToMatchRawSql(second.organizationId);
  });

  it('counts the rolling 24 hours to the millisecond at both ends of the partial first minute', async () => {
    const { organizationId, token } = await seeded(313);
    const auth = { Authorization: `Bearer ${token}` };
    // 30.5 s into a minute, so that now − 24 h falls inside one; two hours back, so every event is in the past.
    const now = new Date(Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000 + 30_500);
    const since = now.getTime() - DAY_MS;
    const firstWholeMinute = Math.floor(since / 60_000) * 60_000 + 60_000;
    const lastEvents = {
      beforeTheWindow: [since - 1],
      atItsStart: [since],
      justInside: [since + 1],
      endOfThePartialMinute: [firstWholeMinute - 1],
      firstWholeMinute: [firstWholeMinute],
      // Active in the partial minute and later: counted once, in its later minute.
      partialThenLater: [since + 5, since + 3 * 3_600_000],
      // A later event first, the partial minute's after it: the last one is still the later.
      laterThenPartial: [since + 4 * 3_600_000, since + 7],
    };
    const activeBefore = (await testApp.get(MetricsRepository).userFigures(organizationId, now, startOfUtcDay(now))).active_last_24h;
    for (const [name, times] of Object.entries(lastEvents)) {
      const user = await http(testApp)
        .post('/api/v1/users')
        .set(auth)
        .send({ email: `${name.toLowerCase()}.${randomBytes(4).toString('hex')}@example.test`, name, role: 'student', created_at: new Date(since - 3 * DAY_MS).toISOString() })
        .expect(201);
      for (const time of times) {
        const event = { id: randomUUID(), type: 'login', user_id: user.body.id, occurred_at: new Date(time).toISOString() };
        await http(testApp).post('/api/v1/events').set(auth).send({ events: [event] }).expect(202);
      }
    }

    const raw = await testApp.get(MetricsRepository).userFigures(organizationId, now, startOfUtcDay(now));
    // justInside, endOfThePartialMinute, firstWholeMinute, partialThenLater and laterThenPartial; not the two at or before now − 24 h.
    expect(raw.active_last_24h - activeBefore).toBe(5);
    const rollups = await testApp.get(RollupsRepository).dashboardFigures(organizationId, now, startOfUtcDay(now), 7);
    expect(rollups.users.active_last_24h).toBe(raw.active_last_24h);
    // A millisecond later the user at the window's first millisecond has left it.
    const later = new Date(now.getTime() + 1);
    const rawLater = await testApp.get(MetricsRepository).userFigures(organizationId, later, startOfUtcDay(later));
    expect((await testApp.get(RollupsRepository).dashboardFigures(organizationId, later, startOfUtcDay(later), 7)).users.active_last_24h).toBe(rawLater.active_last_24h);
    expect(rawLater.active_last_24h).toBe(raw.active_last_24h - 1);
    await expectRollupsToMatchRawSql(organizationId);
  });

  it('rollups:rebuild repairs damaged rollups of the named organization, and rejects an unknown one', async () => {
    const { organizationId } = await seeded(606);
    const intact = await rollupRows(organizationId);
    const [{ slug }]: { slug: string }[] = await testApp.dataSource.query(`SELECT slug FROM organizations WHERE id = $1`, [organizationId]);
    await testApp.dataSource.query(`UPDATE daily_rollups SET daily_active_users = daily_active_users + 5, active_30d_delta = 0 WHERE organization_id = $1`, [organizationId]);
    await testApp.dataSource.query(`UPDATE users SET active_from = NULL, active_days = NULL WHERE organization_id = $1`, [organizationId]);

    const rebuilt = await rebuildRollupsCommand(testApp.dataSource, slug);
    expect(rebuilt.map((entry) => entry.slug)).toEqual([slug]);
    expect(await rollupRows(organizationId)).toEqual(intact);
    await expectRollupsToMatchRawSql(organizationId);
    await expect(rebuildRollupsCommand(testApp.dataSource, 'no-such-organization')).rejects.toThrow('No organization with id or slug "no-such-organization"');
  });

  it('concurrent batches over the same users neither deadlock nor count a user-day twice', async () => {
    const { organizationId, token } = await seeded(707);
    const users = (await userIds(organizationId)).slice(0, 8);
    const random = new Random(77);
    const now = Date.now();
    const batches = Array.from({ length: 6 }, () =>
      Array.from({ length: 200 }, () => ({ id: random.uuid(), type: 'login', user_id: random.pick(users), occurred_at: new Date(now - random.int(0, 40 * DAY_MS)).toISOString() })),
    );
    const responses = await Promise.all(batches.map((events) => http(testApp).post('/api/v1/events').set('Authorization', `Bearer ${token}`).send({ events })));
    expect(responses.map((response) => response.status)).toEqual([202, 202, 202, 202, 202, 202]);
    await expectActiveDaysOfRawEvents(organizationId);

    const incremental = await rollupRows(organizationId);
    await testApp.get(RollupsRepository).rebuild(organizationId);
    expect(await rollupRows(organizationId)).toEqual(incremental);
    await expectRollupsToMatchRawSql(organizationId);
  });

  it('a rebuild beside batches of the same users waits its turn: no transaction aborted as a deadlock, the figures exact', async () => {
    const { organizationId, token } = await seeded(808);
    const users = (await userIds(organizationId)).slice(0, 8);
    const random = new Random(88);
    const now = Date.now();
    const post = () =>
      http(testApp)
        .post('/api/v1/events')
        .set('Authorization', `Bearer ${token}`)
        .send({ events: Array.from({ length: 200 }, () => ({ id: random.uuid(), type: 'login', user_id: random.pick(users), occurred_at: new Date(now - random.int(0, 40 * DAY_MS)).toISOString() })) });
    // The rebuild rewrites these users' bits while batches hold their rows: a deadlock would be run again silently, so count them.
    const { aborted, restore } = recordFailedTransactions();
    try {
      const rounds = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const [first, second, , third] = await Promise.all([post(), post(), testApp.get(RollupsRepository).rebuild(organizationId), post()]);
          return [first.status, second.status, third.status];
        }),
      );
      expect(rounds.flat()).toEqual(Array(9).fill(202));
    } finally {
      restore();
    }
    expect(aborted).toEqual([]);
    await expectActiveDaysOfRawEvents(organizationId);
    const incremental = await rollupRows(organizationId);
    await testApp.get(RollupsRepository).rebuild(organizationId);
    expect(await rollupRows(organizationId)).toEqual(incremental);
    await expectRollupsToMatchRawSql(organizationId);
  });
});
