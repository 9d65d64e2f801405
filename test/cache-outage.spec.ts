import { createClient } from '@redis/client';
import type { ChildProcess } from 'node:child_process';
import { generationKey } from '../src/cache/cache-keys';
import { GenerationChannel } from '../src/cache/generation-channel';
import { RedisConnection } from '../src/redis/redis-connection';
import { createUser, http, signup, SignedUp } from './support/factories';
import { freePort, startRedis, stopRedis, waitFor } from './support/private-redis';
import { createTestApp, TestApp } from './support/test-app';

describe('metrics cache through a Redis outage', () => {
  let port: number;
  let server: ChildProcess;
  let app: TestApp;
  let org: SignedUp;
  const dashboard = () => http(app).get('/api/v1/metrics/dashboard').set('Authorization', `Bearer ${org.token}`).expect(200);
  const keyOf = (generation: number) => `${app.config.REDIS_KEY_PREFIX}:metrics:{org:${org.organization.id}}:g${generation}:/api/v1/metrics/dashboard`;
  const redisReady = () => app.get(RedisConnection).isReady;

  beforeAll(async () => {
    port = await freePort();
    server = await startRedis(port);
    app = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_ENABLED: 'false' } });
    await waitFor(redisReady, 'the app to connect to the private Redis');
    org = await signup(app);
  });
  afterAll(async () => {
    server.kill('SIGCONT');
    await app.close();
    await stopRedis(server);
  });

  it('serves from the database while Redis is down, reports it, and resumes caching when it returns', async () => {
    expect((await dashboard()).body.cache_metadata).toMatchObject({ cache_key: keyOf(1), cache_hit: false });
    expect((await dashboard()).body.cache_metadata).toMatchObject({ cache_key: keyOf(1), cache_hit: true });

    await stopRedis(server);
    await waitFor(() => !redisReady(), 'the app to notice Redis is gone');

    const down = (await dashboard()).body;
    expect([down.cache_metadata.cache_hit, down.cache_metadata.cache_key, down.user_metrics.total_users]).toEqual([false, keyOf(1), 1]);
    expect((await dashboard()).body.cache_metadata.cache_hit).toBe(false);

    // A write during the outage succeeds, and its invalidation waits for Redis instead of failing the write.
    await createUser(app, org.token);
    const afterWrite = (await dashboard()).body;
    expect([afterWrite.cache_metadata.cache_hit, afterWrite.user_metrics.total_users]).toEqual([false, 2]);

    const invalidated = await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${org.token}`).expect(200);
    expect([invalidated.body.status, invalidated.body.organization_id]).toEqual(['success', org.organization.id]);

    const ready = await http(app).get('/health/ready').expect(503);
    expect(ready.body.checks).toEqual({ database: 'up', redis: 'down' });
    expect(ready.body.detail).toBe('Not ready: redis unreachable');

    server = await startRedis(port);
    await waitFor(redisReady, 'the app to reconnect by itself', 20_000);
    // The invalidations that failed during the outage are applied once Redis is back (one pending move per organization).
    const probe = createClient({ url: `redis://127.0.0.1:${port}` });
    await probe.connect();
    try {
      await waitFor(async () => (await probe.get(generationKey(app.config.REDIS_KEY_PREFIX, org.organization.id))) === '1', 'the pending invalidation');
    } finally {
      await probe.close();
    }

    const recomputed = (await dashboard()).body;
    expect([recomputed.cache_metadata.cache_hit, recomputed.cache_metadata.cache_key, recomputed.user_metrics.total_users]).toEqual([false, keyOf(1), 2]);
    const hit = (await dashboard()).body;
    expect(hit.cache_metadata).toEqual({ ...recomputed.cache_metadata, cache_hit: true });
    await http(app).get('/health/ready').expect(200);
  });

  it('does not wait on a hung Redis: the cache call times out and the figures come from the database', async () => {
    await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${org.token}`).expect(200);
    expect((await dashboard()).body.cache_metadata).toMatchObject({ cache_key: keyOf(2), cache_hit: false });
    expect((await dashboard()).body.cache_metadata).toMatchObject({ cache_key: keyOf(2), cache_hit: true });

    // Stopped, not killed: the connection stays open and "ready", and no reply ever comes.
    server.kill('SIGSTOP');
    // Hit responses held in process memory are served until the channel's heartbeat finds Redis silent (about 1 s);
    // from then on every request takes the Redis path, which times out and computes.
    await waitFor(() => !app.get(GenerationChannel).live, 'the cache channel to notice the hung Redis', 5_000);
    const hung = (await dashboard()).body;
    expect([hung.cache_metadata.cache_hit, hung.user_metrics.total_users]).toEqual([false, 2]);
    // A write still answers: its invalidation, skipped (the read above tripped the circuit) or timed out, is left pending.
    await createUser(app, org.token);

    server.kill('SIGCONT');
    await waitFor(async () => redisReady() && (await dashboard()).body.cache_metadata.cache_hit === true, 'hits after Redis resumes', 20_000);
    expect((await dashboard()).body.user_metrics.total_users).toBe(3);
  });
});
