import { effectiveLimit, ruleFor } from '../src/rate-limit/rate-limit-policy';
import { RateLimitStorage } from '../src/rate-limit/rate-limit-storage';
import { http, signup, SignedUp } from './support/factories';
import { createTestApp, ManualClock, TestApp, EXACT_COUNTS_ENV } from './support/test-app';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Spends a free-tier user's whole /auth/me window (100 requests), then returns the refused 101st. */
async function exhaust(app: TestApp, account: SignedUp) {
  for (let n = 1; n <= 100; n++) {
    const response = await me(app, account);
    expect(response.status).toBe(200);
  }
  const rejected = await me(app, account);
  expect(rejected.status).toBe(429);
  return rejected;
}

function me(app: TestApp, account: SignedUp) {
  return http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${account.token}`);
}

describe('progressive penalty (default RATE_LIMIT_PENALTY_SECONDS=300)', () => {
  const clock = new ManualClock();
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ clock, env: EXACT_COUNTS_ENV });
  });
  afterAll(() => app.close());

  it('blocks for 300 s, then 600 s, then 1200 s, with Retry-After the time really left; forgets violations after 24 h', async () => {
    const account = await signup(app);

    const first = await exhaust(app, account);
    expect([first.headers['retry-after'], first.body.retry_after]).toEqual(['300', 300]);
    const firstBlockEnds = clock.now() + 300_000;

    // Blocked on this endpoint only: the user's other endpoints keep their own budgets.
    await http(app).get('/api/v1/users').set('Authorization', `Bearer ${account.token}`).expect(200);

    clock.advance(120_500);
    const during = await me(app, account).expect(429);
    expect([during.headers['retry-after'], during.body.retry_after]).toEqual(['180', 180]);
    expect(during.headers['x-ratelimit-remaining']).toBe('0');
    expect(during.headers['x-ratelimit-reset']).toBe(String(Math.ceil(firstBlockEnds / 1000)));
    expect(during.body.detail).toBe('Blocked on GET /api/v1/auth/me for another 180 s after exceeding its rate limit');
    clock.advance(179_000);
    expect((await me(app, account).expect(429)).headers['retry-after']).toBe('1');
    clock.advance(500);
    const released = await me(app, account).expect(200);
    expect(released.headers['x-ratelimit-remaining']).toBe('99');

    clock.advance(60_000);
    const second = await exhaust(app, account);
    expect([second.headers['retry-after'], second.body.retry_after]).toEqual(['600', 600]);
    expect(second.body.detail).toBe('Rate limit of 100 requests per minute exceeded on GET /api/v1/auth/me (violation 2 in 24 h); blocked for 600 s');

    clock.advance(600_000);
    const third = await exhaust(app, account);
    expect([third.headers['retry-after'], third.body.retry_after]).toEqual(['1200', 1200]);

    // A day after the first violations they no longer count: the next one is a first again.
    clock.advance(DAY_MS);
    const fresh = await exhaust(app, account);
    expect([fresh.headers['retry-after'], fresh.body.detail]).toEqual([
      '300',
      'Rate limit of 100 requests per minute exceeded on GET /api/v1/auth/me (violation 1 in 24 h); blocked for 300 s',
    ]);
  });

  it('holds the hourly export budget (10 an hour, free tier) until the window resets, even after the penalty', async () => {
    const rule = ruleFor('POST /api/v1/metrics/export')!;
    expect(rule).toEqual({ limit: 10, windowMs: HOUR_MS, tierScaled: true });
    const limit = effectiveLimit(rule, 'free');
    const storage = app.get(RateLimitStorage);
    const key = `{u:hourly-window-test}:POST /api/v1/metrics/export`;
    const start = clock.now();
    for (let n = 1; n <= 10; n++) {
      const record = await storage.increment(key, rule.windowMs, limit, 300_000);
      expect([record.totalHits, record.isBlocked, record.resetAt]).toEqual([n, false, start + HOUR_MS]);
    }
    const eleventh = await storage.increment(key, rule.windowMs, limit, 300_000);
    // 300 s of penalty would end before the hour: the block lasts until the budget comes back.
    expect([eleventh.isBlocked, eleventh.timeToBlockExpire, eleventh.violation]).toEqual([true, 3600, 1]);

    clock.advance(HOUR_MS - 1_000);
    expect(await storage.increment(key, rule.windowMs, limit, 300_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    clock.advance(1_000);
    expect(await storage.increment(key, rule.windowMs, limit, 300_000)).toMatchObject({ isBlocked: false, totalHits: 1, resetAt: clock.now() + HOUR_MS });
  });
});

describe('progressive penalty cap (RATE_LIMIT_PENALTY_SECONDS=50000)', () => {
  const clock = new ManualClock();
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ clock, env: { RATE_LIMIT_PENALTY_SECONDS: '50000' } });
  });
  afterAll(() => app.close());

  it('never blocks for more than 24 h', async () => {
    const account = await signup(app);
    const first = await exhaust(app, account);
    expect(first.body.retry_after).toBe(50_000);

    clock.advance(50_000_000);
    const second = await exhaust(app, account);
    // 50000 × 2 = 100000 s, capped at 86400 s.
    expect([second.headers['retry-after'], second.body.retry_after]).toEqual(['86400', 86_400]);
    expect(second.headers['x-ratelimit-reset']).toBe(String(Math.ceil((clock.now() + DAY_MS) / 1000)));

    clock.advance(DAY_MS - 1_000);
    expect((await me(app, account).expect(429)).headers['retry-after']).toBe('1');
  });
});
