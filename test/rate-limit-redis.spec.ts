import { Logger } from '@nestjs/common';
import { createClient } from '@redis/client';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimitStats } from '../src/rate-limit/rate-limit-stats';
import { RedisConnection } from '../src/redis/redis-connection';
import { http, signup, SignedUp } from './support/factories';
import { freePort, startRedis, stopRedis, waitFor } from './support/private-redis';
import { createTestApp, ManualClock, TestApp } from './support/test-app';

const me = (app: TestApp, account: SignedUp) => http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${account.token}`);
const remaining = (response: { headers: Record<string, string> }) => response.headers['x-ratelimit-remaining'];

describe('two instances on one Redis', () => {
  const clock = new ManualClock();
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: `t${randomBytes(4).toString('hex')}` };
    first = await createTestApp({ clock, env });
    second = await createTestApp({ clock, env });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  it('spend one budget: 100 requests in turn, then both refuse', async () => {
    const account = await signup(first);
    for (let n = 1; n <= 100; n++) {
      const response = await me(n % 2 ? first : second, account);
      expect([response.status, remaining(response)]).toEqual([200, String(100 - n)]);
    }
    // Each instance served only 50, yet the shared budget is spent.
    const refused = await me(first, account).expect(429);
    expect(refused.body.retry_after).toBe(300);
    const alsoRefused = await me(second, account).expect(429);
    expect(alsoRefused.body.retry_after).toBe(300);
    expect([first.get(RateLimitStats).totalRejections, second.get(RateLimitStats).totalRejections]).toEqual([1, 1]);
  });
});

describe('Redis outage', () => {
  const clock = new ManualClock();
  let port: number;
  let redis: ChildProcess;
  let app: TestApp;
  let stats: RateLimitStats;
  let connection: RedisConnection;
  const warnings = jest.spyOn(Logger.prototype, 'warn');
  const notices = jest.spyOn(Logger.prototype, 'log');
  const messagesOf = (spy: jest.SpyInstance, text: string) => spy.mock.calls.filter(([message]) => String(message).includes(text));

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    app = await createTestApp({ clock, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    stats = app.get(RateLimitStats);
    connection = app.get(RedisConnection);
    await waitFor(() => connection.isReady, 'the app to connect to the private Redis');
  });
  afterAll(async () => {
    await app.close();
    await stopRedis(redis);
    warnings.mockRestore();
    notices.mockRestore();
  });

  async function counterInRedis(account: SignedUp): Promise<string | null> {
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    await client.connect();
    try {
      return await client.hGet(`${app.config.REDIS_KEY_PREFIX}:rl:{org:${account.organization.id}}:u:${account.user.id}:GET /api/v1/auth/me`, 'count');
    } finally {
      await client.close();
    }
  }

  it('counts in memory while Redis is down, never refuses for it, logs once, and returns to Redis', async () => {
    const account = await signup(app);
    const other = await signup(app);
    expect(remaining(await me(app, account).expect(200))).toBe('99');
    expect(await counterInRedis(account)).toBe('1');
    const fallbacksBefore = stats.fallbackCount;
    const warningsBefore = messagesOf(warnings, 'Rate limiting falls back to process memory').length;
    const noticesBefore = messagesOf(notices, 'Rate limiting is back on Redis').length;

    await stopRedis(redis);
    await waitFor(() => !connection.isReady, 'the app to notice Redis is gone');
    // Fresh per-instance budgets in memory, with the same rules.
    expect([remaining(await me(app, account).expect(200)), remaining(await me(app, account).expect(200))]).toEqual(['99', '98']);
    for (let n = 1; n <= 100; n++) await me(app, other).expect(200);
    const refused = await me(app, other).expect(429);
    expect(refused.body.retry_after).toBe(300);
    expect(stats.fallbackCount - fallbacksBefore).toBe(103);
    expect(stats.redisDegraded).toBe(true);
    expect(messagesOf(warnings, 'Rate limiting falls back to process memory').length - warningsBefore).toBe(1);

    redis = await startRedis(port);
    await waitFor(() => connection.isReady, 'the app to reconnect');
    // The restarted Redis is empty (no script, no counters): the script is loaded again and counting resumes there.
    expect(remaining(await me(app, account).expect(200))).toBe('99');
    expect(await counterInRedis(account)).toBe('1');
    expect(remaining(await me(app, other).expect(200))).toBe('99');
    expect(stats.fallbackCount - fallbacksBefore).toBe(103);
    expect(stats.redisDegraded).toBe(false);
    expect(messagesOf(notices, 'Rate limiting is back on Redis').length - noticesBefore).toBe(1);
  });

  it('bounds the wait for a Redis that hangs, then goes back to it', async () => {
    const account = await signup(app);
    expect(remaining(await me(app, account).expect(200))).toBe('99');
    expect(await counterInRedis(account)).toBe('1');
    const before = stats.fallbackCount;

    redis.kill('SIGSTOP');
    try {
      // The check times out (RATE_LIMIT_REDIS_TIMEOUT_MS) and the request is served from memory.
      expect(remaining(await me(app, account).expect(200))).toBe('99');
      expect(remaining(await me(app, account).expect(200))).toBe('98');
    } finally {
      redis.kill('SIGCONT');
    }
    expect(stats.fallbackCount - before).toBe(2);
    expect(stats.redisDegraded).toBe(true);

    // After a failure Redis is left alone for a second, then asked again.
    await sleep(1_100);
    const back = await me(app, account).expect(200);
    expect(stats.redisDegraded).toBe(false);
    // The script that timed out still ran when Redis woke: Redis saw 1 + 1 + this one.
    expect(remaining(back)).toBe('97');
    expect(await counterInRedis(account)).toBe('3');
  });
});

describe('embedded mode (no REDIS_URL)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ redis: false });
  });
  afterAll(() => app.close());

  it('limits in process memory, without counting that as a fallback', async () => {
    const account = await signup(app);
    expect([remaining(await me(app, account).expect(200)), remaining(await me(app, account).expect(200))]).toEqual(['99', '98']);
    expect(app.get(RateLimitStats).fallbackCount).toBe(0);
    expect(app.get(RateLimitStats).redisDegraded).toBe(false);
  });
});
