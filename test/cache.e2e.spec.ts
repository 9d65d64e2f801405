import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CacheGenerations } from '../src/cache/cache-generations';
import { generationKey } from '../src/cache/cache-keys';
import { CacheStats } from '../src/cache/cache-stats';
import { MetricsService } from '../src/metrics/metrics.service';
import { RedisConnection } from '../src/redis/redis-connection';
import { createContent, createUser, event, http, signup, SignedUp, userWithRole } from './support/factories';
import { freePort, startRedis, stopRedis, waitFor } from './support/private-redis';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

// Rate limits are another module's concern; these tests read one dashboard many times.
const env = { RATE_LIMIT_ENABLED: 'false' };

const get = (app: TestApp, account: { token: string }, path: string) =>
  http(app).get(`/api/v1/metrics/${path}`).set('Authorization', `Bearer ${account.token}`).expect(200);

const withoutMetadata = ({ cache_metadata: _metadata, ...figures }: Record<string, unknown>) => figures;

/** Removes what the app wrote under its random prefix from the shared Redis. */
async function dropKeys(app: TestApp): Promise<void> {
  const client = app.get(RedisConnection).client!;
  for await (const keys of client.scanIterator({ MATCH: `${app.config.REDIS_KEY_PREFIX}:*`, COUNT: 500 })) {
    if (keys.length) await client.del(keys);
  }
}

describe('metrics cache on Redis', () => {
  // A minute ahead of the wall clock (rows stamped by the database are never in this clock's future), moved by hand.
  const clock = new ManualClock(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
  const at = () => new Date(clock.now()).toISOString();
  let app: TestApp;
  let redis: NonNullable<RedisConnection['client']>;
  let prefix: string;
  // Signup is a write too: a new organization's first entries are under generation 1.
  const keyOf = (account: SignedUp, generation: number, route: string) =>
    `${prefix}:metrics:{org:${account.organization.id}}:g${generation}:/api/v1/metrics/${route}`;

  beforeAll(async () => {
    app = await createTestApp({ clock, env });
    redis = app.get(RedisConnection).client!;
    prefix = app.config.REDIS_KEY_PREFIX;
  });
  afterAll(async () => {
    await dropKeys(app);
    await app.close();
  });
  afterEach(() => jest.restoreAllMocks());

  it('serves a hit after a miss with the same figures and generated_at, under a key with its PTTL in Redis', async () => {
    const org = await signup(app);
    const miss = (await get(app, org, 'dashboard')).body;
    const key = keyOf(org, 1, 'dashboard');
    const computedAt = at();
    expect(miss.cache_metadata).toEqual({ generated_at: computedAt, cache_ttl: 900, cache_key: key, cache_hit: false });
    expect(miss.timestamp).toBe(computedAt);
    expect(miss.user_metrics.total_users).toBe(1);

    clock.advance(5_000);
    const hit = (await get(app, org, 'dashboard?force_refresh=false')).body;
    expect(hit.cache_metadata).toEqual({ generated_at: computedAt, cache_ttl: 900, cache_key: key, cache_hit: true });
    expect(withoutMetadata(hit)).toEqual(withoutMetadata(miss));

    expect(await redis.exists(key)).toBe(1);
    const pttl = await redis.pTTL(key);
    expect(pttl).toBeGreaterThan(898_000);
    expect(pttl).toBeLessThanOrEqual(900_000);
  });

  it('keys activity and statistics by their normalized query, with their own TTLs', async () => {
    const org = await signup(app);
    const activity = (await get(app, org, 'activity')).body.cache_metadata;
    expect(activity).toMatchObject({ cache_ttl: 60, cache_key: `${keyOf(org, 1, 'activity')}?hours=24&limit=20`, cache_hit: false });
    // Defaults spelled out, in another order: the same entry.
    expect((await get(app, org, 'activity?limit=20&hours=24')).body.cache_metadata).toMatchObject({ cache_key: activity.cache_key, cache_hit: true });
    // Leading zeros: the same hours, the same entry.
    expect((await get(app, org, 'activity?hours=024&limit=0020')).body.cache_metadata).toMatchObject({ cache_key: activity.cache_key, cache_hit: true });
    expect((await get(app, org, 'activity?hours=2')).body.cache_metadata).toMatchObject({
      cache_key: `${keyOf(org, 1, 'activity')}?hours=2&limit=20`,
      cache_hit: false,
    });
    const activityPttl = await redis.pTTL(activity.cache_key);
    expect(activityPttl).toBeGreaterThan(58_000);
    expect(activityPttl).toBeLessThanOrEqual(60_000);

    const statistics = (await get(app, org, 'statistics?period=7d')).body;
    expect(statistics.cache_metadata).toEqual({
      generated_at: statistics.generated_at,
      cache_ttl: 300,
      cache_key: `${keyOf(org, 1, 'statistics')}?period=7d`,
      cache_hit: false,
    });
    expect((await get(app, org, 'statistics')).body.cache_metadata).toMatchObject({ cache_key: statistics.cache_metadata.cache_key, cache_hit: true });
    const statisticsPttl = await redis.pTTL(statistics.cache_metadata.cache_key);
    expect(statisticsPttl).toBeGreaterThan(298_000);
    expect(statisticsPttl).toBeLessThanOrEqual(300_000);
  });

  it('recomputes, stores and returns fresh figures on force_refresh=true', async () => {
    const org = await signup(app);
    const learner = await createUser(app, org.token);
    clock.advance(1_000);
    const first = (await get(app, org, 'dashboard')).body;
    expect(first.user_metrics.total_users).toBe(2);
    // A change the cache is not told about (no write endpoint, no notification).
    await app.dataSource.query('UPDATE users SET is_active = false WHERE id = $1', [learner.id]);

    clock.advance(1_000);
    const stale = (await get(app, org, 'dashboard')).body;
    expect([stale.cache_metadata.cache_hit, stale.user_metrics.total_users]).toEqual([true, 2]);

    clock.advance(1_000);
    const refreshed = (await get(app, org, 'dashboard?force_refresh=true')).body;
    expect(refreshed.user_metrics.total_users).toBe(1);
    expect(refreshed.cache_metadata).toEqual({
      generated_at: at(),
      cache_ttl: 900,
      cache_key: first.cache_metadata.cache_key,
      cache_hit: false,
    });

    clock.advance(1_000);
    const after = (await get(app, org, 'dashboard')).body;
    expect(after.cache_metadata).toEqual({ ...refreshed.cache_metadata, cache_hit: true });
    expect(after.user_metrics.total_users).toBe(1);
  });

  it('recomputes after a write of users, content or events, under the next generation', async () => {
    const org = await signup(app);
    expect((await get(app, org, 'dashboard')).body.user_metrics.total_users).toBe(1);

    const learner = await createUser(app, org.token);
    const afterUser = (await get(app, org, 'dashboard')).body;
    expect(afterUser.cache_metadata).toMatchObject({ cache_key: keyOf(org, 2, 'dashboard'), cache_hit: false });
    expect(afterUser.user_metrics.total_users).toBe(2);

    const lesson = await createContent(app, org.token, { status: 'published' });
    const afterContent = (await get(app, org, 'dashboard')).body;
    expect(afterContent.cache_metadata).toMatchObject({ cache_key: keyOf(org, 3, 'dashboard'), cache_hit: false });
    expect(afterContent.content_metrics.published_content).toBe(1);

    await http(app)
      .post('/api/v1/events')
      .set('Authorization', `Bearer ${org.token}`)
      .send({ events: [event(learner.id, { type: 'lesson_completed', content_id: lesson.id, score: 80, occurred_at: at() })] })
      .expect(202);
    const afterEvent = (await get(app, org, 'dashboard')).body;
    expect(afterEvent.cache_metadata).toMatchObject({ cache_key: keyOf(org, 4, 'dashboard'), cache_hit: false });
    expect(afterEvent.engagement_metrics.total_lessons_completed).toBe(1);
    expect((await get(app, org, 'dashboard')).body.cache_metadata).toMatchObject({ cache_key: keyOf(org, 4, 'dashboard'), cache_hit: true });
  });

  it('lets an admin invalidate its own organization only; a teacher gets 403', async () => {
    const a = await signup(app);
    const b = await signup(app);
    const teacher = await userWithRole(app, a, 'teacher');
    const aFirst = (await get(app, a, 'dashboard')).body;
    const bFirst = (await get(app, b, 'dashboard')).body;
    expect(aFirst.cache_metadata.cache_key).toBe(keyOf(a, 2, 'dashboard')); // signup and the teacher's creation are writes of A

    const forbidden = await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${teacher.token}`).expect(403);
    expect(forbidden.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect((await get(app, a, 'dashboard')).body.cache_metadata.cache_hit).toBe(true);

    clock.advance(2_000);
    const invalidated = await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${a.token}`).expect(200);
    expect(invalidated.body).toEqual({ status: 'success', organization_id: a.organization.id, invalidated_at: at() });

    const aAfter = (await get(app, a, 'dashboard')).body;
    expect(aAfter.cache_metadata).toEqual({
      generated_at: at(),
      cache_ttl: 900,
      cache_key: keyOf(a, 3, 'dashboard'),
      cache_hit: false,
    });
    // B's entry is untouched: same key, same instant, a hit.
    expect((await get(app, b, 'dashboard')).body.cache_metadata).toEqual({ ...bFirst.cache_metadata, cache_hit: true });
  });

  it('never serves one organization another’s entry', async () => {
    const a = await signup(app);
    const b = await signup(app);
    await createUser(app, a.token);
    await createUser(app, a.token);
    const aBody = (await get(app, a, 'dashboard')).body;
    const bBody = (await get(app, b, 'dashboard')).body;
    expect([aBody.organization_id, aBody.user_metrics.total_users, aBody.cache_metadata.cache_key]).toEqual([a.organization.id, 3, keyOf(a, 3, 'dashboard')]);
    expect([bBody.organization_id, bBody.user_metrics.total_users, bBody.cache_metadata.cache_key, bBody.cache_metadata.cache_hit]).toEqual([
      b.organization.id,
      1,
      keyOf(b, 1, 'dashboard'),
      false,
    ]);
    const bAgain = (await get(app, b, 'dashboard')).body;
    expect([bAgain.organization_id, bAgain.user_metrics.total_users, bAgain.cache_metadata.cache_hit]).toEqual([b.organization.id, 1, true]);
  });

  it('computes 20 concurrent misses of one key once', async () => {
    const org = await signup(app);
    const service = app.get(MetricsService);
    const stats = app.get(CacheStats);
    // Hold the one computation until all 20 requests have looked the key up and missed.
    let lookups = 0;
    let allLookedUp!: () => void;
    const gate = new Promise<void>((resolve) => (allLookedUp = resolve));
    jest.spyOn(stats, 'record').mockImplementation((hit: boolean) => {
      CacheStats.prototype.record.call(stats, hit);
      if (++lookups === 20) allLookedUp();
    });
    const computations = jest.spyOn(service, 'dashboard').mockImplementation(async (organizationId: string) => {
      await gate;
      return MetricsService.prototype.dashboard.call(service, organizationId);
    });

    const responses = await Promise.all(Array.from({ length: 20 }, () => get(app, org, 'dashboard')));
    expect(computations).toHaveBeenCalledTimes(1);
    const expected = { generated_at: at(), cache_ttl: 900, cache_key: keyOf(org, 1, 'dashboard'), cache_hit: false };
    expect(responses.map((response) => response.body.cache_metadata)).toEqual(Array(20).fill(expected));
    expect(new Set(responses.map((response) => JSON.stringify(response.body))).size).toBe(1);

    expect((await get(app, org, 'dashboard')).body.cache_metadata).toEqual({ ...expected, cache_hit: true });
    expect(computations).toHaveBeenCalledTimes(1);
  });

  it('answers requests the key cannot describe without the cache, so validation still speaks', async () => {
    const org = await signup(app);
    await get(app, org, 'dashboard');
    const bad = await http(app).get('/api/v1/metrics/dashboard?force_refresh=maybe').set('Authorization', `Bearer ${org.token}`).expect(400);
    expect(bad.body.errors).toEqual([{ field: 'force_refresh', message: 'force_refresh must be one of: true, false' }]);
    await get(app, org, 'activity');
    const unknown = await http(app).get('/api/v1/metrics/activity?hours=24&bucket=1').set('Authorization', `Bearer ${org.token}`).expect(400);
    expect(unknown.body.errors).toEqual([{ field: 'bucket', message: 'property bucket should not exist' }]);
    const refreshOnActivity = await http(app).get('/api/v1/metrics/activity?force_refresh=false').set('Authorization', `Bearer ${org.token}`).expect(400);
    expect(refreshOnActivity.body.errors).toEqual([{ field: 'force_refresh', message: 'property force_refresh should not exist' }]);
  });

  it('documents the invalidation endpoint in OpenAPI', async () => {
    const { body } = await http(app).get('/openapi.json').expect(200);
    const operation = body.paths['/api/v1/metrics/invalidate-cache'].post;
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '403', '408', '413', '431', '500', '503', '508']); // unlimited: never 429
    expect(operation.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/InvalidateCacheResponse' });
    expect(operation.security).toEqual([{ bearer: [] }]);
    expect(body.components.schemas.InvalidateCacheResponse.required).toEqual(['status', 'organization_id', 'invalidated_at']);
  });
});

describe('two instances on one Redis', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    const shared = { ...env, REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}` };
    first = await createTestApp({ env: shared });
    second = await createTestApp({ env: shared });
  });
  afterAll(async () => {
    await dropKeys(first);
    await first.close();
    await second.close();
  });

  it('share entries, and a write through one makes the other recompute', async () => {
    const org = await signup(first);
    const computed = (await get(first, org, 'dashboard')).body;
    const served = (await get(second, org, 'dashboard')).body;
    expect(served.cache_metadata).toEqual({ ...computed.cache_metadata, cache_hit: true });
    expect(withoutMetadata(served)).toEqual(withoutMetadata(computed));

    await createUser(second, org.token);
    const recomputed = (await get(first, org, 'dashboard')).body;
    expect(recomputed.cache_metadata.cache_key).toBe(computed.cache_metadata.cache_key.replace(':g1:', ':g2:'));
    expect([recomputed.cache_metadata.cache_hit, recomputed.user_metrics.total_users]).toEqual([false, 2]);
    expect((await get(second, org, 'dashboard')).body.cache_metadata).toEqual({ ...recomputed.cache_metadata, cache_hit: true });
  });
});

describe('two instances on a Redis slow to take writes, or refusing them', () => {
  let server: ChildProcess;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    // A private Redis: pausing or refusing its writes must not touch the other spec files' Redis.
    const port = await freePort();
    server = await startRedis(port);
    const shared = { ...env, REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}` };
    first = await createTestApp({ env: shared });
    second = await createTestApp({ env: shared });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await stopRedis(server);
  });

  /** Two new organizations of one user each, the first's dashboard held by the second instance (computed, then a hit). */
  async function twoOrganizationsOneHeld() {
    const org = await signup(first);
    const other = await signup(first);
    expect((await get(second, org, 'dashboard')).body.cache_metadata.cache_hit).toBe(false);
    const held = (await get(second, org, 'dashboard')).body;
    expect([held.cache_metadata.cache_hit, held.user_metrics.total_users]).toEqual([true, 1]);
    return { org, other, held };
  }

  it('answers a write only once its invalidation is in Redis, so the other instance recomputes right after it', async () => {
    const { org, other, held } = await twoOrganizationsOneHeld();
    const otherComputed = (await get(second, other, 'dashboard')).body;

    // For the next 700 ms Redis runs no write (the generation's move among them) and still answers reads and PINGs,
    // so the second instance's channel stays live and its copy of the entry stays usable.
    await first.get(RedisConnection).client!.sendCommand(['CLIENT', 'PAUSE', '700', 'WRITE']);
    await createUser(first, org.token);
    const after = (await get(second, org, 'dashboard')).body;
    expect([after.cache_metadata.cache_hit, after.user_metrics.total_users]).toEqual([false, 2]);
    expect(after.cache_metadata.cache_key).toBe(held.cache_metadata.cache_key.replace(':g1:', ':g2:'));
    // The other organization's entry was not touched by the write: still served, unchanged.
    expect((await get(second, other, 'dashboard')).body.cache_metadata).toEqual({ ...otherComputed.cache_metadata, cache_hit: true });
  });

  it('applies a refused invalidation once Redis takes writes again, with no read on the writing instance', async () => {
    const { org, other, held } = await twoOrganizationsOneHeld();
    expect((await get(second, other, 'dashboard')).body.cache_metadata.cache_hit).toBe(false);
    const otherHeld = (await get(second, other, 'dashboard')).body;
    expect(otherHeld.cache_metadata.cache_hit).toBe(true);

    // First a reconnect with nothing pending: the retry pass every reconnect runs has nothing to move, and must leave
    // the retries working.
    const redis = first.get(RedisConnection).client!;
    const clientId = String(await redis.sendCommand(['CLIENT', 'ID']));
    await second.get(RedisConnection).client!.sendCommand(['CLIENT', 'KILL', 'ID', clientId]);
    // A command sent while the killed socket closes fails; one sent after is answered on the new connection.
    const currentId = () => redis.sendCommand(['CLIENT', 'ID']).then(String, () => clientId);
    await waitFor(async () => (await currentId()) !== clientId, 'the first instance to reconnect', 10_000);

    // Every write is refused (NOREPLICAS: no replica is connected) while reads and PINGs are answered: the connection
    // stays up, so no reconnect retries the move the next write fails to make.
    await redis.sendCommand(['CONFIG', 'SET', 'min-replicas-to-write', '1']);
    const generationOf = (account: SignedUp) => redis.get(generationKey(first.config.REDIS_KEY_PREFIX, account.organization.id));
    const generation = () => generationOf(org);
    try {
      await createUser(first, org.token);
      expect(await generation()).toBe('1');
    } finally {
      await redis.sendCommand(['CONFIG', 'SET', 'min-replicas-to-write', '0']);
    }

    // No read on the first instance from here on: it applies its pending move by itself.
    await waitFor(async () => (await generation()) === '2', 'the refused move to be applied', 10_000);
    // The move reaches the second instance as a message of its own, which may still be on its way when the counter is read.
    await waitFor(() => second.get(CacheGenerations).knownCurrent(org.organization.id) === 2, 'the second instance to hear the move', 5_000);
    const after = (await get(second, org, 'dashboard')).body;
    expect([after.cache_metadata.cache_hit, after.user_metrics.total_users]).toEqual([false, 2]);
    expect(after.cache_metadata.cache_key).toBe(held.cache_metadata.cache_key.replace(':g1:', ':g2:'));
    // The retry moved only the organization that was written to: the other's entry is still served, unchanged.
    expect(await generationOf(other)).toBe('1');
    expect((await get(second, other, 'dashboard')).body).toEqual(otherHeld);
  });
});

describe('cache hit rate', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env });
  });
  afterAll(async () => {
    await dropKeys(app);
    await app.close();
  });

  it('feeds system_metrics.cache_hit_rate with hits ÷ lookups of the last 5 minutes', async () => {
    const org = await signup(app);
    // A lookup that misses is counted before the figures are computed: 0 hits of 1.
    expect((await get(app, org, 'dashboard')).body.system_metrics.cache_hit_rate).toBe(0);
    await get(app, org, 'dashboard');
    await get(app, org, 'statistics');
    await get(app, org, 'statistics');
    // force_refresh looks nothing up: 3 hits of 4 lookups so far.
    expect((await get(app, org, 'dashboard?force_refresh=true')).body.system_metrics.cache_hit_rate).toBe(50);
    expect(app.get(CacheStats).hitRatePct()).toBe(50);
    expect({ hits: app.get(CacheStats).hits, misses: app.get(CacheStats).misses }).toEqual({ hits: 2, misses: 2 });
  });
});

describe('metrics cache in process memory (no REDIS_URL)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env, redis: false });
  });
  afterAll(() => app.close());

  it('hits, and moves the generation on writes and on invalidation', async () => {
    const org = await signup(app);
    const key = (generation: number) => `${app.config.REDIS_KEY_PREFIX}:metrics:{org:${org.organization.id}}:g${generation}:/api/v1/metrics/dashboard`;
    const miss = (await get(app, org, 'dashboard')).body;
    expect(miss.cache_metadata).toMatchObject({ cache_key: key(1), cache_hit: false, cache_ttl: 900 });
    const hit = (await get(app, org, 'dashboard')).body;
    expect(hit.cache_metadata).toEqual({ ...miss.cache_metadata, cache_hit: true });
    expect(withoutMetadata(hit)).toEqual(withoutMetadata(miss));

    await createUser(app, org.token);
    const afterWrite = (await get(app, org, 'dashboard')).body;
    expect([afterWrite.cache_metadata.cache_key, afterWrite.cache_metadata.cache_hit, afterWrite.user_metrics.total_users]).toEqual([key(2), false, 2]);

    await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${org.token}`).expect(200);
    expect((await get(app, org, 'dashboard')).body.cache_metadata).toMatchObject({ cache_key: key(3), cache_hit: false });
  });
});
