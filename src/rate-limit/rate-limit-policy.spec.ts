import { effectiveLimit, LOGIN_ROUTE, ruleFor } from './rate-limit-policy';

describe('rate-limit policy', () => {
  it('holds the contract limits per endpoint, 100 a minute elsewhere, and no limit on invalidation and operations', () => {
    expect(ruleFor('GET /api/v1/metrics/dashboard')).toEqual({ limit: 10, windowMs: 60_000, tierScaled: true });
    expect(ruleFor('GET /api/v1/metrics/activity')).toEqual({ limit: 20, windowMs: 60_000, tierScaled: true });
    expect(ruleFor('GET /api/v1/metrics/statistics')).toEqual({ limit: 30, windowMs: 60_000, tierScaled: true });
    expect(ruleFor('POST /api/v1/metrics/export')).toEqual({ limit: 10, windowMs: 3_600_000, tierScaled: true });
    expect(ruleFor('POST /api/v1/events')).toEqual({ limit: 600, windowMs: 60_000, tierScaled: true });
    expect(ruleFor('PATCH /api/v1/users/:id')).toEqual({ limit: 100, windowMs: 60_000, tierScaled: true });
    expect(ruleFor(LOGIN_ROUTE)).toEqual({ limit: 30, windowMs: 60_000, tierScaled: false });
    for (const unlimited of ['POST /api/v1/metrics/invalidate-cache', 'GET /health/live', 'GET /health/ready', 'GET /metrics']) {
      expect(ruleFor(unlimited)).toBeNull();
    }
  });

  it('multiplies by the tier (free 1, basic 2, premium 5, enterprise 10), except login and unauthenticated callers', () => {
    const dashboard = ruleFor('GET /api/v1/metrics/dashboard')!;
    expect([effectiveLimit(dashboard, 'free'), effectiveLimit(dashboard, 'basic'), effectiveLimit(dashboard, 'premium'), effectiveLimit(dashboard, 'enterprise')]).toEqual([
      10, 20, 50, 100,
    ]);
    expect(effectiveLimit(dashboard, undefined)).toBe(10);
    expect(effectiveLimit(ruleFor(LOGIN_ROUTE)!, 'enterprise')).toBe(30);
  });
});
