import { OrganizationsRepository } from '../src/organizations/organizations.repository';
import { http, signup, SignedUp } from './support/factories';
import { createTestApp, ManualClock, TestApp, EXACT_COUNTS_ENV } from './support/test-app';

const HOUR_MS = 3_600_000;

describe('rate limits of the metrics endpoints (the limits table)', () => {
  const clock = new ManualClock();
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ clock, env: EXACT_COUNTS_ENV });
  });
  afterAll(() => app.close());

  const budget = (response: { headers: Record<string, string> }) => [
    response.headers['x-ratelimit-limit'],
    response.headers['x-ratelimit-remaining'],
    response.headers['x-ratelimit-reset'],
  ];

  /** Calls an endpoint limit times (each answered 200 with the exact budget left), then once more: 429. */
  async function spendWindow(send: () => Promise<{ status: number; headers: Record<string, string>; body: { retry_after?: number } }>, limit: number, windowMs: number) {
    const reset = String(Math.ceil((clock.now() + windowMs) / 1000));
    for (let n = 1; n <= limit; n++) {
      const response = await send();
      expect([response.status, ...budget(response)]).toEqual([200, String(limit), String(limit - n), reset]);
    }
    const refused = await send();
    expect(refused.status).toBe(429);
    return refused;
  }

  const get = (account: SignedUp, path: string) => () => http(app).get(`/api/v1/metrics/${path}`).set('Authorization', `Bearer ${account.token}`);

  it.each([
    ['dashboard', 10],
    ['activity', 20],
    ['statistics', 30],
  ])('limits GET /metrics/%s to %i a minute on the free tier', async (path, limit) => {
    const account = await signup(app);
    const refused = await spendWindow(get(account, path), limit, 60_000);
    expect(refused.body.retry_after).toBe(300);
    expect(refused.headers['retry-after']).toBe('300');
  });

  it('scales the dashboard limit with the tier (premium: 50 a minute)', async () => {
    const account = await signup(app);
    await app.get(OrganizationsRepository).setTierAsOperator(account.organization.id, 'premium');
    await spendWindow(get(account, 'dashboard'), 50, 60_000);
  });

  it('gives POST /events 600 a minute, times the tier (basic: 1200)', async () => {
    const account = await signup(app);
    await app.get(OrganizationsRepository).setTierAsOperator(account.organization.id, 'basic');
    const batch = { events: [{ type: 'login', user_id: account.user.id, occurred_at: clock.date().toISOString() }] };
    const response = await http(app).post('/api/v1/events').set('Authorization', `Bearer ${account.token}`).send(batch).expect(202);
    expect(budget(response)).toEqual(['1200', '1199', String(Math.ceil((clock.now() + 60_000) / 1000))]);
  });

  it('limits POST /metrics/export to 10 an hour, and gives the budget back when the hour is over', async () => {
    const account = await signup(app);
    const exportJson = () => http(app).post('/api/v1/metrics/export').set('Authorization', `Bearer ${account.token}`).send({ format: 'json', date_range: '24h' });
    const refused = await spendWindow(exportJson, 10, HOUR_MS);
    // The 300 s penalty would end inside the hour: the block lasts until the hour's budget is back.
    expect(refused.body.retry_after).toBe(3600);

    clock.advance(59 * 60_000);
    expect((await exportJson().expect(429)).headers['retry-after']).toBe('60');
    clock.advance(60_000);
    const again = await exportJson().expect(200);
    expect(budget(again)).toEqual(['10', '9', String(Math.ceil((clock.now() + HOUR_MS) / 1000))]);
  });
});
