import { randomBytes } from 'node:crypto';
import { GenerationChannel } from '../src/cache/generation-channel';
import { RedisConnection } from '../src/redis/redis-connection';
import { createUser, http, signup, SignedUp } from './support/factories';
import { waitFor } from './support/private-redis';
import { LocalRedisCluster } from './support/redis-cluster';
import { createTestApp, TestApp } from './support/test-app';

const DASHBOARD = '/api/v1/metrics/dashboard';

/** Two instances of the service on one Redis Cluster of three masters started here from redis-server. */
describe('Redis Cluster (REDIS_CLUSTER_URLS)', () => {
  let cluster: LocalRedisCluster;
  let a: TestApp;
  let b: TestApp;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const get = (app: TestApp, account: SignedUp, path: string) => http(app).get(path).set('Authorization', `Bearer ${account.token}`);

  const instance = (env: Record<string, string> = {}) =>
    createTestApp({ env: { REDIS_URL: undefined, REDIS_CLUSTER_URLS: cluster.urls.join(','), REDIS_KEY_PREFIX: prefix, RATE_LIMIT_ENABLED: 'false', ...env } });
  const channelLive = (app: TestApp) => app.get(GenerationChannel).live;

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start();
    [a, b] = await Promise.all([instance(), instance()]);
    await waitFor(() => channelLive(a) && channelLive(b), 'both instances to be subscribed to every master');
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.stop();
  }, 30_000);

  it('is ready with the cluster up, and reports its memory over every master', async () => {
    const ready = await http(a).get('/health/ready').expect(200);
    expect(ready.body.checks).toEqual({ database: 'up', redis: 'up' });
    expect(a.get(RedisConnection).nodeClients()).toHaveLength(3);
    const admin = await signup(a);
    const dashboard = await get(a, admin, DASHBOARD).expect(200);
    const perMaster = await cluster.usedMemory();
    const reported = dashboard.body.system_metrics.redis_memory_usage * 1024 * 1024;
    const total = perMaster.reduce((sum, bytes) => sum + bytes, 0);
    // The three masters' used_memory summed (read a moment apart, so within a tenth), not one master's.
    expect(Math.abs(reported - total)).toBeLessThan(total * 0.1);
    expect(reported).toBeGreaterThan(Math.max(...perMaster) * 1.5);
  });

  it('shares cached results and invalidation between instances, and every key of an organization sits in one slot', async () => {
    const admin = await signup(a);
    const first = await get(a, admin, DASHBOARD).expect(200);
    expect(first.body.cache_metadata.cache_hit).toBe(false);
    const hit = await get(b, admin, DASHBOARD).expect(200);
    expect(hit.body.cache_metadata).toEqual({ ...first.body.cache_metadata, cache_hit: true });
    expect(hit.body.user_metrics.total_users).toBe(1);

    await createUser(b, admin.token);
    const fresh = await get(a, admin, DASHBOARD).expect(200);
    expect(fresh.body.cache_metadata.cache_hit).toBe(false);
    expect(fresh.body.user_metrics.total_users).toBe(2);
    expect((await get(b, admin, DASHBOARD).expect(200)).body.user_metrics.total_users).toBe(2);

    const keys = (await cluster.keys(prefix)).filter((key) => key.includes(admin.organization.id));
    // Generation, entries of two generations: all under the organization's hash tag, hence in one slot.
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(key).toContain(`{org:${admin.organization.id}}`);
    const slots = new Set(await Promise.all(keys.map((key) => cluster.slotOf(key))));
    expect(slots.size).toBe(1);
  });

  it('tells every instance each move exactly once, whichever master owns the organization', async () => {
    const heard: [string, number][] = [];
    b.get(GenerationChannel).listen({ moved: (organizationId, generation) => heard.push([organizationId, generation]) });
    // Enough organizations to land on every master.
    const admins: SignedUp[] = [];
    const owners = new Set<number>();
    while (owners.size < 3 && admins.length < 40) {
      const admin = await signup(a);
      admins.push(admin);
      owners.add(await cluster.ownerPort(`${prefix}:metrics:{org:${admin.organization.id}}:generation`));
    }
    expect(owners.size).toBe(3);
    heard.length = 0;
    for (const admin of admins) await http(a).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${admin.token}`).expect(200);
    // Every move reaches the other instance…
    await waitFor(() => admins.every((admin) => heard.some(([organizationId]) => organizationId === admin.organization.id)), 'every move to be heard');
    // …once: the copies the other masters relay over the cluster bus (within milliseconds) are not taken again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const admin of admins) expect(heard.filter(([organizationId]) => organizationId === admin.organization.id)).toHaveLength(1);
    expect(heard).toHaveLength(admins.length);
    expect(channelLive(b)).toBe(true);
  });

  it('serves hits from process memory on the other instance and drops them on a move made elsewhere', async () => {
    const admin = await signup(a);
    await get(a, admin, DASHBOARD).expect(200);
    const first = await get(b, admin, DASHBOARD).expect(200);
    expect(first.body.cache_metadata.cache_hit).toBe(true);
    await get(b, admin, DASHBOARD).expect(200); // now from b's process memory
    await createUser(a, admin.token);
    const after = await get(b, admin, DASHBOARD).expect(200);
    expect(after.body.cache_metadata.cache_hit).toBe(false);
    expect(after.body.user_metrics.total_users).toBe(2);
  });

  it('closes every connection it opened to the cluster when it shuts down', async () => {
    const before = await cluster.connectionCount();
    const c = await instance();
    await waitFor(() => c.get(RedisConnection).isReady && channelLive(c), 'the instance to reach the cluster');
    expect(await cluster.connectionCount()).toBeGreaterThan(before);
    await c.close();
    // Its subscriber connections (cache generations, token revocations, activity) included: none is left reconnecting.
    await waitFor(async () => (await cluster.connectionCount()) === before, 'the closed instance to drop its connections');
  });

  it('answers from the database while a master is down, reports Redis down, and caches again once it is back', async () => {
    const admin = await signup(a);
    const owner = await cluster.ownerPort(`${prefix}:metrics:{org:${admin.organization.id}}:generation`);
    await get(a, admin, DASHBOARD).expect(200);
    await get(a, admin, DASHBOARD).expect(200); // a hit, now also in a's process memory
    await cluster.killNode(owner);
    try {
      await waitFor(() => !a.get(RedisConnection).isReady, 'the instance to notice the master is gone');
      const ready = await http(a).get('/health/ready').expect(503);
      expect(ready.body.checks).toEqual({ database: 'up', redis: 'down' });
      // A write during the outage succeeds, and no copy of the figures from before it is served.
      await createUser(a, admin.token);
      for (const instance of [a, b]) {
        const down = (await get(instance, admin, DASHBOARD).expect(200)).body;
        expect([down.cache_metadata.cache_hit, down.user_metrics.total_users]).toEqual([false, 2]);
      }
    } finally {
      await cluster.restartNode(owner);
    }
    await waitFor(() => a.get(RedisConnection).isReady && channelLive(a), 'the instance to reach every master again', 30_000);
    await http(a).get('/health/ready').expect(200);
    // Caching resumes once the move missed during the outage is retried (on reconnect, every second, and before a
    // read); a cache call that fails just after the master's return makes the cache skip Redis for a second. Every
    // answer must be fresh.
    await waitFor(async () => {
      const body = (await get(a, admin, DASHBOARD).expect(200)).body;
      expect(body.user_metrics.total_users).toBe(2);
      return body.cache_metadata.cache_hit === true;
    }, 'the dashboard to be cached again');
    const hit = (await get(a, admin, DASHBOARD).expect(200)).body;
    expect([hit.cache_metadata.cache_hit, hit.user_metrics.total_users]).toEqual([true, 2]);
  });

  it('spends one rate-limit budget across instances, its keys in the organization\'s slot', async () => {
    const [c, d] = await Promise.all([instance({ RATE_LIMIT_ENABLED: 'true' }), instance({ RATE_LIMIT_ENABLED: 'true' })]);
    try {
      await waitFor(() => c.get(RedisConnection).isReady && d.get(RedisConnection).isReady, 'both instances to reach the cluster');
      const admin = await signup(c);
      const remaining: string[] = [];
      for (let index = 0; index < 10; index++) {
        const response = await get(index % 2 === 0 ? c : d, admin, DASHBOARD).expect(200);
        remaining.push(response.headers['x-ratelimit-remaining']);
      }
      expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);
      const refused = await get(d, admin, DASHBOARD).expect(429);
      expect(refused.headers['x-ratelimit-limit']).toBe('10');
      const budgetKeys = (await cluster.keys(`${prefix}:rl:`)).filter((key) => key.includes(admin.user.id));
      expect(budgetKeys.length).toBeGreaterThanOrEqual(1);
      // Under the organization's hash tag: the budgets sit in the slot of the organization's cache keys.
      for (const key of budgetKeys) expect(key).toContain(`{org:${admin.organization.id}}:u:${admin.user.id}:`);
      const cacheSlot = await cluster.slotOf(`${prefix}:metrics:{org:${admin.organization.id}}:generation`);
      expect(new Set(await Promise.all(budgetKeys.map((key) => cluster.slotOf(key))))).toEqual(new Set([cacheSlot]));
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });
});
