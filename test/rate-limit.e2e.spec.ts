import type { Response } from 'supertest';
import { PRINCIPAL_TTL_MS, PrincipalCache } from '../src/auth/principal-cache';
import { loadConfig } from '../src/config/app-config';
import { OrganizationsRepository } from '../src/organizations/organizations.repository';
import { RateLimitStats } from '../src/rate-limit/rate-limit-stats';
import { RateLimitStorage } from '../src/rate-limit/rate-limit-storage';
import { http, signup, SignedUp, userWithRole } from './support/factories';
import { createTestApp, ManualClock, TestApp, EXACT_COUNTS_ENV } from './support/test-app';

const seconds = (ms: number) => Math.ceil(ms / 1000);

function expectBudget(response: Response, limit: number, remaining: number, resetAtMs: number): void {
  expect([response.headers['x-ratelimit-limit'], response.headers['x-ratelimit-remaining'], response.headers['x-ratelimit-reset']]).toEqual([
    String(limit),
    String(remaining),
    String(seconds(resetAtMs)),
  ]);
}

describe('rate limiting (per user, per endpoint, tier-scaled)', () => {
  const clock = new ManualClock();
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ clock, env: EXACT_COUNTS_ENV });
  });
  afterAll(() => app.close());

  const me = (token: string) => http(app).get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);

  it('counts down exact headers over a window and answers 429 problem+json at limit + 1', async () => {
    const account = await signup(app);
    const start = clock.now();
    for (let n = 1; n <= 100; n++) {
      clock.advance(100);
      const response = await me(account.token).expect(200);
      expectBudget(response, 100, 100 - n, start + 100 + 60_000);
    }
    const rejected = await me(account.token).expect(429);
    // The first violation blocks for RATE_LIMIT_PENALTY_SECONDS (300), longer than the window's 50 s left.
    expect(rejected.headers['retry-after']).toBe('300');
    expect(rejected.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expectBudget(rejected, 100, 0, clock.now() + 300_000);
    expect(rejected.body).toEqual({
      type: expect.any(String),
      title: 'Too Many Requests',
      status: 429,
      detail: 'Rate limit of 100 requests per minute exceeded on GET /api/v1/auth/me (violation 1 in 24 h); blocked for 300 s',
      instance: '/api/v1/auth/me',
      correlation_id: rejected.headers['x-correlation-id'],
      retry_after: 300,
    });
    expect(app.get(RateLimitStats).rejectionsByEndpoint().get('GET /api/v1/auth/me')).toBe(1);

    // Another endpoint of the same user has its own budget.
    const users = await http(app).get('/api/v1/users').set('Authorization', `Bearer ${account.token}`).expect(200);
    expectBudget(users, 100, 99, clock.now() + 60_000);
  });

  it('runs after authentication and roles: budgets are per user, and refused callers spend none', async () => {
    const admin = await signup(app);
    const teacher = await userWithRole(app, admin, 'teacher');
    const student = await userWithRole(app, admin, 'student');

    const unauthenticated = await http(app).get('/api/v1/auth/me').expect(401);
    expect(unauthenticated.headers['x-ratelimit-limit']).toBeUndefined();
    const forbidden = await http(app).get('/api/v1/users').set('Authorization', `Bearer ${student.token}`).expect(403);
    expect(forbidden.headers['x-ratelimit-limit']).toBeUndefined();

    // HEAD is the GET endpoint's budget.
    const head = await http(app).head('/api/v1/users').set('Authorization', `Bearer ${teacher.token}`).expect(200);
    expectBudget(head, 100, 99, clock.now() + 60_000);
    expectBudget(await http(app).get('/api/v1/users').set('Authorization', `Bearer ${teacher.token}`).expect(200), 100, 98, clock.now() + 60_000);

    // Same IP, three users: each has a budget of its own, which only the principal can tell apart.
    expectBudget(await me(admin.token).expect(200), 100, 99, clock.now() + 60_000);
    expectBudget(await me(admin.token).expect(200), 100, 98, clock.now() + 60_000);
    expectBudget(await me(teacher.token).expect(200), 100, 99, clock.now() + 60_000);
    expectBudget(await me(student.token).expect(200), 100, 99, clock.now() + 60_000);
  });

  it.each([
    ['free', 100],
    ['basic', 200],
    ['premium', 500],
    ['enterprise', 1000],
  ] as const)('multiplies the limit for the %s tier to %i', async (tier, limit) => {
    const account = await signup(app);
    await app.get(OrganizationsRepository).setTierAsOperator(account.organization.id, tier);
    const start = clock.now();
    expectBudget(await me(account.token).expect(200), limit, limit - 1, start + 60_000);
    // The middle of the budget is spent in Redis directly, under the key the guard uses, to keep the test quick.
    const storage = app.get(RateLimitStorage);
    for (let n = 2; n < limit; n++) await storage.increment(`{org:${account.organization.id}}:u:${account.user.id}:GET /api/v1/auth/me`, 60_000, limit, 300_000);
    expectBudget(await me(account.token).expect(200), limit, 0, start + 60_000);
    const rejected = await me(account.token).expect(429);
    expect(rejected.body.retry_after).toBe(300);
    expect(rejected.headers['x-ratelimit-limit']).toBe(String(limit));
  });

  it('applies a tier change within the principal TTL, keeping the requests already spent', async () => {
    const account = await signup(app);
    const start = clock.now();
    expectBudget(await me(account.token).expect(200), 100, 99, start + 60_000);
    expectBudget(await me(account.token).expect(200), 100, 98, start + 60_000);

    await app.get(OrganizationsRepository).setTierAsOperator(account.organization.id, 'premium');
    // This instance still holds the principal read before the change, for at most 5 s.
    expectBudget(await me(account.token).expect(200), 100, 97, start + 60_000);
    clock.advance(PRINCIPAL_TTL_MS + 1);
    expectBudget(await me(account.token).expect(200), 500, 496, start + 60_000);

    // Back to free: the 4 requests of this window now stand against 100.
    await app.get(OrganizationsRepository).setTierAsOperator(account.organization.id, 'free');
    clock.advance(10_000);
    app.get(PrincipalCache).forget(account.organization.id, account.user.id);
    expectBudget(await me(account.token).expect(200), 100, 95, start + 60_000);
  });
});

describe('login attempts (5 failures a minute per IP and e-mail, within 30 attempts a minute per IP)', () => {
  let app: TestApp;
  let account: SignedUp;
  beforeAll(async () => {
    app = await createTestApp();
    account = await signup(app, { password: 'the right password' });
  });
  afterAll(() => app.close());

  const login = (email: string, password: string) => http(app).post('/api/v1/auth/login').send({ email, password });

  it('refuses the 6th attempt after 5 failures, even with the right password, without a penalty; another e-mail from the same IP is not refused', async () => {
    await app.get(OrganizationsRepository).setTierAsOperator(account.organization.id, 'enterprise');
    const variants = [account.user.email, account.user.email.toUpperCase(), ` ${account.user.email} `, account.user.email, account.user.email];
    for (const [index, email] of variants.entries()) {
      const response = await login(email, 'a wrong password').expect(401);
      expect([response.headers['x-ratelimit-limit'], response.headers['x-ratelimit-remaining']]).toEqual(['30', String(29 - index)]);
    }
    const sixth = await login(account.user.email, 'the right password').expect(429);
    expect(sixth.body.detail).toMatch(/^Too many failed logins for this e-mail from this address; try again in \d+ s$/);
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    // The window's end, never a penalty.
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(sixth.body.retry_after).toBe(retryAfter);

    const other = await login('someone.else@example.test', 'whatever it is').expect(401);
    expect([other.headers['x-ratelimit-limit'], other.headers['x-ratelimit-remaining']]).toEqual(['30', '23']);
  });
});

describe('routes that are never limited', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('leaves health checks without rate-limit headers, however often they are called', async () => {
    for (let n = 0; n < 105; n++) {
      const response = await http(app).get('/health/live').expect(200);
      expect(response.headers['x-ratelimit-limit']).toBeUndefined();
    }
    const ready = await http(app).get('/health/ready').expect(200);
    expect(ready.headers['x-ratelimit-limit']).toBeUndefined();
    const probe = await http(app).head('/health/live').expect(200);
    expect(probe.headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('limits other unauthenticated routes per IP at 100 a minute', async () => {
    // The first unauthenticated request of this app (the tests below sign up from the same IP).
    const response = await http(app).post('/api/v1/auth/signup').send({}).expect(400);
    expect([response.headers['x-ratelimit-limit'], response.headers['x-ratelimit-remaining']]).toEqual(['100', '99']);
  });

  it('never limits POST /metrics/invalidate-cache, nor the Prometheus scrape', async () => {
    const admin = await signup(app);
    for (let n = 0; n < 105; n++) {
      const response = await http(app).post('/api/v1/metrics/invalidate-cache').set('Authorization', `Bearer ${admin.token}`).expect(200);
      expect([response.body.organization_id, response.headers['x-ratelimit-limit']]).toEqual([admin.organization.id, undefined]);
      const scrape = await http(app).get('/metrics').expect(200);
      expect(scrape.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('the client IP of per-IP limits', () => {
  let apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });

  const attempt = (app: TestApp, forwardedFor: string) =>
    http(app).post('/api/v1/auth/login').set('X-Forwarded-For', forwardedFor).send({ email: 'nobody@example.test', password: 'not a password' });

  it('ignores X-Forwarded-For by default, so a forged header does not buy a fresh budget', async () => {
    const app = await createTestApp();
    apps.push(app);
    const remaining = [];
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) remaining.push((await attempt(app, address).expect(401)).headers['x-ratelimit-remaining']);
    expect(remaining).toEqual(['29', '28', '27']);
  });

  it('refuses invalid rate-limit settings at start-up, naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'every proxy; really' })).toThrow(/TRUST_PROXY: TRUST_PROXY must be empty, a hop count/);
    expect(() => loadConfig({ RATE_LIMIT_REDIS_TIMEOUT_MS: '5' })).toThrow(/RATE_LIMIT_REDIS_TIMEOUT_MS: /);
    expect(() => loadConfig({ RATE_LIMIT_ENABLED: 'sometimes' })).toThrow(/RATE_LIMIT_ENABLED: /);
    expect([loadConfig({ TRUST_PROXY: '2' }).trustProxy, loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy, loadConfig({}).trustProxy]).toEqual([
      2,
      'loopback, 10.0.0.0/8',
      false,
    ]);
  });

  it('takes the forwarded address from a proxy trusted by TRUST_PROXY', async () => {
    const app = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
    apps.push(app);
    const remaining = [];
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.1']) remaining.push((await attempt(app, address).expect(401)).headers['x-ratelimit-remaining']);
    expect(remaining).toEqual(['29', '29', '28']);
  });
});
