import type { Tier } from '../database/entities/organization.entity.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;


export interface RateLimitRule {
  /** Requests allowed per window before the tier multiplier. */
  limit: number;
  windowMs: number;
  /** Login attempts are not a plan feature: the same 5 a minute on every tier. */
  tierScaled: boolean;
}

export const TIER_MULTIPLIERS: Readonly<Record<Tier, number>> = { free: 1, basic: 2, premium: 5, enterprise: 10 };

export const LOGIN_ROUTE = 'POST /api/v1/auth/login';
export const DEFAULT_RULE: RateLimitRule = { limit: 100, windowMs: MINUTE_MS, tierScaled: true };

/** The limits per endpoint, keyed by "METHOD route template"; null means never limited. Routes not listed get DEFAULT_RULE. */
export const RATE_LIMIT_RULES: Readonly<Record<string, RateLimitRule | null>> = {
  'GET /api/v1/metrics/dashboard': { limit: 10, windowMs: MINUTE_MS, tierScaled: true },
  'GET /api/v1/metrics/activity': { limit: 20, windowMs: MINUTE_MS, tierScaled: true },
  'GET /api/v1/metrics/statistics': { limit: 30, windowMs: MINUTE_MS, tierScaled: true },
  'POST /api/v1/metrics/export': { limit: 10, windowMs: HOUR_MS, tierScaled: true },
  'GET /api/v1/metrics/insights': { limit: 30, windowMs: MINUTE_MS, tierScaled: true },
  // Opening a stream is counted; what it sends afterwards is not a request.
  'GET /api/v1/metrics/stream': { limit: 10, windowMs: MINUTE_MS, tierScaled: true },
  'POST /api/v1/events': { limit: 600, windowMs: MINUTE_MS, tierScaled: true },
  'POST /api/v1/xapi/statements': { limit: 600, windowMs: MINUTE_MS, tierScaled: true },
  'PUT /api/v1/xapi/statements': { limit: 600, windowMs: MINUTE_MS, tierScaled: true },
  'POST /api/v1/users/import': { limit: 10, windowMs: HOUR_MS, tierScaled: true },
  'POST /api/v1/metrics/invalidate-cache': null,
  // Login's budget per client IP across e-mails (the X-RateLimit-* headers); LoginLimits spends it with the failed-login limits.
  [LOGIN_ROUTE]: { limit: 30, windowMs: MINUTE_MS, tierScaled: false },
  // Operations endpoints are probed by load balancers and scrapers, not by tenants.
  'GET /health/live': null,
  'GET /health/ready': null,
  'GET /metrics': null,
};

/** The rule for an endpoint, or null when it is not limited. */
export function ruleFor(endpoint: string): RateLimitRule | null {
  const rule = RATE_LIMIT_RULES[endpoint];
  return rule === undefined ? DEFAULT_RULE : rule;
}

/** The limit a caller of this tier gets; callers without a tier (unauthenticated) get the base limit. */
export function effectiveLimit(rule: RateLimitRule, tier: Tier | undefined): number {
  return rule.tierScaled && tier ? rule.limit * TIER_MULTIPLIERS[tier] : rule.limit;
}

/** The k-th violation in 24 h blocks for penalty × 2^(k−1), never longer than 24 h. */
export const PENALTY_CAP_MS = 24 * HOUR_MS;
export const VIOLATION_MEMORY_MS = 24 * HOUR_MS;
