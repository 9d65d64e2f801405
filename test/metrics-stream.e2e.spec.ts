import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RedisConnection } from '../src/redis/redis-connection';
import { LiveDashboards } from '../src/stream/live-dashboards';
import { StreamSlots } from '../src/stream/stream-slots';
import { createContent, createUser, event, http, signup, userWithRole } from './support/factories';
import { freePort, startRedis, stopRedis, waitFor } from './support/private-redis';
import { openStream, OpenStream } from './support/sse-client';
import { createTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function signedToken(payload: object): string {
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  return `${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`;
}

const pushEvents = (app: TestApp, token: string, events: object[]) => http(app).post('/api/v1/events').set('Authorization', `Bearer ${token}`).send({ events }).expect(202);

/** Two instances of the service on one database and one Redis (same key prefix): A streams, B takes the writes. */
// Two apps and real waits: more than the default 30 s on a busy host.
jest.setTimeout(60_000);

describe('GET /metrics/stream across instances', () => {
  let a: TestApp;
  let b: TestApp;
  const open: OpenStream[] = [];
  const stream = async (app: TestApp, token: string, headers?: Record<string, string>) => {
    const opened = await openStream(app, token, headers);
    open.push(opened);
    return opened;
  };

  beforeAll(async () => {
    const shared = { REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}`, STREAM_AUTH_CHECK_SECONDS: '1' };
    a = await createTestApp({ env: shared });
    b = await createTestApp({ env: shared });
  }, 120_000);
  afterEach(() => {
    for (const opened of open.splice(0)) opened.close();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('sends the dashboard on connect, then a dashboard event with the new figures and an activity event after a write on another instance', async () => {
    const admin = await signup(a);
    const learner = await createUser(b, admin.token);
    const lesson = await createContent(b, admin.token);
    const live = await stream(a, admin.token);
    expect(live.status).toBe(200);
    expect(live.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(live.headers['cache-control']).toBe('no-cache, no-transform');
    expect(live.headers['x-accel-buffering']).toBe('no');
    expect(live.headers['x-ratelimit-limit']).toBe('10');
    expect(live.headers['x-correlation-id']).toBeDefined();

    const init = await live.next((e) => e.event === 'init');
    // Another organization's stream (on the other instance, whose activity channel is the same) hears nothing of this one.
    const other = await signup(b);
    const elsewhere = await stream(b, other.token);
    expect((await elsewhere.next((e) => e.event === 'init')).data.organization_id).toBe(other.organization.id);
    expect(live.retry).toBe(3000);
    const dashboard = (await http(a).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${admin.token}`).expect(200)).body;
    // Same body as GET /metrics/dashboard: the same cache entry.
    expect(init.data).toEqual({ ...dashboard, cache_metadata: { ...dashboard.cache_metadata, cache_hit: init.data.cache_metadata.cache_hit } });
    expect(init.data.user_metrics.total_users).toBe(2);
    expect(init.data.engagement_metrics.total_lessons_completed).toBe(0);
    expect(init.id).toBe(String(Date.parse(init.data.cache_metadata.generated_at)));

    // The set-up's own writes (users, content) are heard asynchronously: let their refreshes (at most one a second) finish first.
    const before = await settledRecomputations(a.get(LiveDashboards));
    await pushEvents(b, admin.token, [
      event(learner.id),
      event(learner.id),
      event(learner.id, { type: 'lesson_completed', content_id: lesson.id, score: 90 }),
    ]);
    const activity = await live.next((e) => e.event === 'activity');
    expect(activity.data).toEqual({
      organization_id: admin.organization.id,
      accepted: 3,
      by_type: { login: 2, session: 0, lesson_completed: 1, assessment_submitted: 0 },
      at: expect.any(String),
    });
    expect(activity.id).toBeUndefined();
    const fresh = await live.next((e) => e.event === 'dashboard' && e.data.engagement_metrics.total_lessons_completed === 1, 10_000);
    expect(fresh.data.engagement_metrics.daily_active_users).toBe(1);
    expect(fresh.data.user_metrics.active_users).toBe(1);
    expect(fresh.data.organization_id).toBe(admin.organization.id);
    expect(Number(fresh.id)).toBeGreaterThan(Number(init.id));
    expect(a.get(LiveDashboards).recomputations - before).toBe(1);

    // A duplicate-only batch stores nothing: no activity event for it.
    const duplicate = event(learner.id);
    await pushEvents(b, admin.token, [duplicate]);
    await live.next((e) => e.event === 'activity' && e.data.accepted === 1);
    await pushEvents(b, admin.token, [duplicate]);
    await new Promise((done) => setTimeout(done, 500));
    expect(live.events.filter((e) => e.event === 'activity')).toHaveLength(2);
    // It may refresh its own dashboard (its signup was a write), never show this organization's figures or activity.
    expect(elsewhere.events.filter((e) => e.event === 'activity' || e.data?.organization_id !== other.organization.id)).toEqual([]);
  });

  it('recomputes once per organization and instance however many streams listen, at most once a second', async () => {
    const admin = await signup(a);
    const teacher = await userWithRole(a, admin, 'teacher');
    const learner = await createUser(b, admin.token);
    const streams = [await stream(a, admin.token), await stream(a, admin.token), await stream(a, teacher.token)];
    await Promise.all(streams.map((s) => s.next((e) => e.event === 'init')));

    const live = a.get(LiveDashboards);
    const exposition = (await http(a).get('/metrics').expect(200)).text;
    expect(Number(/^toolbox_metrics_streams_open (\d+)$/m.exec(exposition)?.[1])).toBeGreaterThanOrEqual(3);
    expect(Number(/^toolbox_metrics_stream_recomputations_total (\d+)$/m.exec(exposition)?.[1])).toBe(live.recomputations);
    const before = live.recomputations;
    await pushEvents(b, admin.token, [event(learner.id)]);
    const updates = await Promise.all(streams.map((s) => s.next((e) => e.event === 'dashboard')));
    expect(new Set(updates.map((u) => u.id)).size).toBe(1);
    expect(updates.map((u) => u.data.engagement_metrics.daily_active_users)).toEqual([1, 1, 1]);
    expect(live.recomputations - before).toBe(1);

    // Five writes in quick succession: one recomputation at once, one a second later with all of them.
    const burst = live.recomputations;
    for (let i = 0; i < 5; i++) await pushEvents(b, admin.token, [event(learner.id, { type: 'lesson_completed' })]);
    const last = await streams[0].next((e) => e.event === 'dashboard' && e.data.engagement_metrics.total_lessons_completed === 5, 10_000);
    expect(last.data.engagement_metrics.total_lessons_completed).toBe(5);
    // Never more than one recomputation a write (how many fewer depends on timing: the bench measures the delay).
    expect(live.recomputations - burst).toBeLessThanOrEqual(5);
    expect(streams[0].events.filter((e) => e.event === 'activity')).toHaveLength(6);
  });

  it('allows 20 open streams per organization across instances: the 21st gets 429 until one closes', async () => {
    const admin = await signup(a);
    // Opening counts against the 10-a-minute budget of each user: three teachers and the admin share the 20.
    const teachers = [await userWithRole(a, admin, 'teacher'), await userWithRole(a, admin, 'teacher')];
    const openers = [admin.token, admin.token, admin.token, admin.token, teachers[0].token, teachers[0].token, teachers[0].token, teachers[0].token];
    const held: OpenStream[] = [];
    for (let i = 0; i < 20; i++) {
      const token = i < 8 ? openers[i] : i < 16 ? teachers[1].token : teachers[0].token;
      const opened = await stream(i % 2 ? a : b, token);
      expect(opened.status).toBe(200);
      held.push(opened);
    }
    const refused = await stream(a, admin.token);
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.body).toMatchObject({ status: 429, retry_after: 10, detail: 'This organization already has 20 open metrics streams, the most allowed; close one first' });
    // Another organization is not affected.
    const other = await signup(b);
    expect((await stream(b, other.token)).status).toBe(200);

    held[3].close();
    await held[3].ended;
    let reopened: OpenStream | undefined;
    for (let attempt = 0; attempt < 20 && reopened?.status !== 200; attempt++) {
      await new Promise((done) => setTimeout(done, 100));
      reopened = await stream(b, admin.token);
    }
    expect(reopened?.status).toBe(200);
  });

  it('counts opening a stream against the 10-a-minute budget, not what it sends', async () => {
    const admin = await signup(a);
    for (let i = 0; i < 10; i++) expect((await stream(a, admin.token)).status).toBe(200);
    const refused = await stream(a, admin.token);
    expect(refused.status).toBe(429);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('ends the stream when the user is deactivated or loses the role on another instance, and when the token expires', async () => {
    const admin = await signup(a);
    const teacher = await userWithRole(a, admin, 'teacher');
    const other = await userWithRole(a, admin, 'teacher');
    const deactivated = await stream(a, teacher.token);
    const demoted = await stream(a, other.token);
    await deactivated.next((e) => e.event === 'init');
    await demoted.next((e) => e.event === 'init');

    await http(b).patch(`/api/v1/users/${teacher.id}`).set('Authorization', `Bearer ${admin.token}`).send({ is_active: false }).expect(200);
    expect((await deactivated.next((e) => e.event === 'end', 10_000)).data).toEqual({ reason: 'token_revoked' });
    await deactivated.ended;
    await http(b).patch(`/api/v1/users/${other.id}`).set('Authorization', `Bearer ${admin.token}`).send({ role: 'student' }).expect(200);
    // A role change ends every token issued before it: the stream ends as revoked, before its role is even looked at.
    expect((await demoted.next((e) => e.event === 'end', 10_000)).data).toEqual({ reason: 'token_revoked' });
    await demoted.ended;

    const now = Math.floor(Date.now() / 1000);
    const shortLived = signedToken({ sub: admin.user.id, org: admin.organization.id, role: 'admin', jti: randomUUID(), ver: 0, iat: now, exp: now + 2 });
    const expiring = await stream(a, shortLived);
    expect(expiring.status).toBe(200);
    await expiring.next((e) => e.event === 'init');
    expect((await expiring.next((e) => e.event === 'end', 4_000)).data).toEqual({ reason: 'token_expired' });
    await expiring.ended;
    expect(Date.now()).toBeGreaterThanOrEqual((now + 2) * 1000);
  });

  it('admits a metrics:read API key, refuses a key without it, and ends the key’s stream within 5 s of its revocation on another instance', async () => {
    const admin = await signup(a);
    const createKey = async (scopes: string[]) =>
      (await http(a).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'dashboard wall', scopes }).expect(201)).body as { id: string; key: string };
    const reader = await createKey(['metrics:read']);
    const writer = await createKey(['events:write']);

    const refused = await stream(a, writer.key);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ status: 403, detail: 'This API key lacks the metrics:read scope' });

    const live = await stream(a, reader.key);
    expect(live.status).toBe(200);
    const init = await live.next((e) => e.event === 'init');
    expect(init.data.organization_id).toBe(admin.organization.id);
    expect(init.data.user_metrics.total_users).toBe(1);

    // The xAPI statements resource announces its mapped events on the live stream like any other batch.
    const statement = {
      id: randomUUID(),
      actor: { mbox: 'mailto:ada@school.example', name: 'Ada' },
      verb: { id: 'http://adlnet.gov/expapi/verbs/completed' },
      object: { objectType: 'Activity', id: 'https://lms.example/lessons/1', definition: { type: 'http://adlnet.gov/expapi/activities/lesson', name: { 'en-US': 'Fractions' } } },
      result: { score: { scaled: 0.8 } },
      timestamp: new Date(Date.now() - 60_000).toISOString(),
    };
    await http(b).post('/api/v1/xapi/statements').set('Authorization', `Bearer ${writer.key}`).set('X-Experience-API-Version', '1.0.3').send([statement]).expect(200);
    const activity = await live.next((e) => e.event === 'activity');
    expect(activity.data).toEqual({
      organization_id: admin.organization.id,
      accepted: 1,
      by_type: { login: 0, session: 0, lesson_completed: 1, assessment_submitted: 0 },
      at: expect.any(String),
    });
    const fresh = await live.next((e) => e.event === 'dashboard' && e.data.engagement_metrics.total_lessons_completed === 1, 10_000);
    expect(fresh.data.user_metrics.total_users).toBe(2);

    // Instance A read the key's record just now; B revokes it, with no message between the two.
    await http(b).delete(`/api/v1/api-keys/${reader.id}`).set('Authorization', `Bearer ${admin.token}`).expect(204);
    expect((await live.next((e) => e.event === 'end', 15_000)).data).toEqual({ reason: 'token_revoked' });
    await live.ended;
    expect((await stream(a, reader.key)).status).toBe(401);
  });

  it('ends an API key’s stream when the key expires', async () => {
    const admin = await signup(a);
    const expiresAt = new Date(Date.now() + 2_500);
    const key = (
      await http(a).post('/api/v1/api-keys').set('Authorization', `Bearer ${admin.token}`).send({ name: 'short', scopes: ['metrics:read'], expires_at: expiresAt.toISOString() }).expect(201)
    ).body as { key: string };
    const live = await stream(a, key.key);
    expect(live.status).toBe(200);
    await live.next((e) => e.event === 'init');
    expect((await live.next((e) => e.event === 'end', 6_000)).data).toEqual({ reason: 'token_expired' });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
    await live.ended;
  });

  it('refuses students and missing tokens with problem+json', async () => {
    const admin = await signup(a);
    const student = await userWithRole(a, admin, 'student');
    const refused = await stream(a, student.token);
    expect(refused.status).toBe(403);
    expect(refused.body.status).toBe(403);
    await http(a).get('/api/v1/metrics/stream').expect(401);
  });

  it('refuses a query parameter it does not take (400 problem+json naming it) instead of opening the stream', async () => {
    const admin = await signup(a);
    const refused = await http(a).get('/api/v1/metrics/stream?period=7d').set('Authorization', `Bearer ${admin.token}`).expect(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.errors).toEqual([expect.objectContaining({ field: 'period' })]);
  });

  it('gives a reconnecting client (Last-Event-ID) the latest state first', async () => {
    const admin = await signup(a);
    const learner = await createUser(a, admin.token);
    const first = await stream(a, admin.token);
    const init = await first.next((e) => e.event === 'init');
    first.close();
    await pushEvents(b, admin.token, [event(learner.id, { type: 'assessment_submitted', score: 70 })]);

    const again = await stream(a, admin.token, { 'Last-Event-ID': init.id as string });
    const resumed = await again.next((e) => e.event === 'init');
    expect(again.events[0]).toBe(resumed);
    expect(resumed.data.engagement_metrics.total_assessments).toBe(1);
    expect(Number(resumed.id)).toBeGreaterThan(Number(init.id));
  });

  it('holds no transaction open while streaming, and an idle stream costs no database work', async () => {
    const admin = await signup(a);
    const live = await stream(a, admin.token);
    await live.next((e) => e.event === 'init');
    const dataSource = a.get(DataSource);
    const runners = jest.spyOn(dataSource, 'createQueryRunner');
    const observer = b.get(DataSource);
    const [inTransaction] = await observer.query(
      `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(inTransaction.count).toBe(0);
    // Token checks every second (this suite's setting), slot renewals: none of them touches the database.
    await new Promise((done) => setTimeout(done, 2_500));
    expect(runners).not.toHaveBeenCalled();
    runners.mockRestore();
  });
});

describe('GET /metrics/stream heartbeat and the embedded mode', () => {
  it('sends a comment heartbeat at the configured interval and works without Redis', async () => {
    const app = await createTestApp({ redis: false, env: { STREAM_HEARTBEAT_SECONDS: '1' } });
    try {
      const admin = await signup(app);
      const learner = await createUser(app, admin.token);
      const live = await openStream(app, admin.token);
      await live.next((e) => e.event === 'init');
      await new Promise((done) => setTimeout(done, 1_500));
      expect(live.comments).toContain('heartbeat');

      await pushEvents(app, admin.token, [event(learner.id, { type: 'session', duration_seconds: 600 })]);
      expect((await live.next((e) => e.event === 'activity')).data.by_type.session).toBe(1);
      const fresh = await live.next((e) => e.event === 'dashboard');
      expect(fresh.data.engagement_metrics.avg_session_duration).toBe(10);
      live.close();
    } finally {
      await app.close();
    }
  });
});

describe('stream slots in Redis', () => {
  it('lets a slot whose instance stopped renewing it lapse, and frees a slot on close', async () => {
    const app = await createTestApp({ env: { STREAM_MAX_PER_ORGANIZATION: '1' } });
    try {
      const slots = app.get(StreamSlots);
      const redis = app.get(RedisConnection).client!;
      const organizationId = randomUUID();
      expect(await slots.acquire(organizationId, 'crashed')).toBe(true);
      expect(await slots.acquire(organizationId, 'second')).toBe(false);
      // The instance holding "crashed" died: its lease (score) is no longer renewed and runs out.
      await redis.zAdd(slots.key(organizationId), { score: 1, value: 'crashed' });
      expect(await slots.acquire(organizationId, 'second')).toBe(true);
      expect(await redis.zRange(slots.key(organizationId), 0, -1)).toEqual(['second']);
      const lease = Number(await redis.zScore(slots.key(organizationId), 'second'));
      expect(lease - Date.now()).toBeGreaterThan(25_000);
      expect(await redis.pTTL(slots.key(organizationId))).toBeGreaterThan(25_000);
      await slots.release(organizationId, 'second');
      expect(await redis.zCard(slots.key(organizationId))).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('GET /metrics/stream through a Redis outage', () => {
  it('keeps streams open, opens new ones on local slots, and catches up with the writes made meanwhile once Redis returns', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const app = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_ENABLED: 'false', STREAM_AUTH_CHECK_SECONDS: '1' } });
    const redisReady = () => app.get(RedisConnection).isReady;
    try {
      await waitFor(redisReady, 'the app to connect to the private Redis');
      const admin = await signup(app);
      const live = await openStream(app, admin.token);
      expect((await live.next((e) => e.event === 'init')).data.user_metrics.total_users).toBe(1);

      await stopRedis(server);
      await waitFor(() => !redisReady(), 'the app to notice Redis is gone');
      const during = await openStream(app, admin.token);
      expect(during.status).toBe(200);
      await during.next((e) => e.event === 'init');
      await createUser(app, admin.token);

      server = await startRedis(port);
      await waitFor(redisReady, 'the app to reconnect by itself', 20_000);
      // Moves made while the channel was down were never heard: every open organization recomputes once it is live again.
      for (const stream of [live, during]) {
        const fresh = await stream.next((e) => e.event === 'dashboard' && e.data.user_metrics.total_users === 2, 10_000);
        expect(fresh.data.organization_id).toBe(admin.organization.id);
      }
      live.close();
      during.close();
    } finally {
      await app.close();
      await stopRedis(server);
    }
  });
});

/** The stream recomputation count once no refresh has started for longer than the one-a-second spacing. */
async function settledRecomputations(live: LiveDashboards): Promise<number> {
  for (;;) {
    const seen = live.recomputations;
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    if (live.recomputations === seen) return seen;
  }
}
