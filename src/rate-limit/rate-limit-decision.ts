import { organizationTag } from '../cache/cache-keys.js';
import type { Tier } from '../database/entities/organization.entity.js';
import type { AppConfig } from '../config/app-config.js';
import { TooManyRequestsException } from '../errors/api-errors.js';
import { effectiveLimit, ruleFor } from './rate-limit-policy.js';
import type { RateLimitStats } from './rate-limit-stats.js';
import type { RateLimitStorage } from './rate-limit-storage.js';

/** One budget as a request spends it: whose and which endpoint (the key), how much, over which window. */
export interface BudgetSpend {
  /** "{org:<organization id>}:u:<user id>:GET /api/v1/metrics/dashboard" (see budgetKey). */
  key: string;
  /** "GET /api/v1/metrics/dashboard": the method and the route template. */
  endpoint: string;
  limit: number;
  windowMs: number;
  /** The first violation's block. */
  blockDurationMs: number;
}

export interface RateLimitDecision {
  /** X-RateLimit-Limit, -Remaining and -Reset, for the response whether it is refused or not. */
  headers: Record<string, string>;
  /** The 429 to answer, or null when the request may go on. */
  rejection: TooManyRequestsException | null;
}

/**
 * "{org:<organization id>}:u:<user id>" for an authenticated caller: the subject of its budgets, under its
 * organization's Redis hash tag, so that every key of an organization (cache and budgets) sits in one Cluster slot.
 */
export function userTracker(organizationId: string, userId: string): string {
  return `${organizationTag(organizationId)}:u:${userId}`;
}

/** "{org:<organization id>}:k:<API key id>": a key has a budget of its own, apart from every user's. */
export function apiKeyTracker(organizationId: string, apiKeyId: string): string {
  return `${organizationTag(organizationId)}:k:${apiKeyId}`;
}

/** "{ip:<address>}" where no organization is known yet (login, signup): the address is its own hash tag. */
export function ipTracker(ip: string): string {
  return `{ip:${ip}}`;
}

/** A subject (which carries its hash tag) and an endpoint: the subject's budgets, and their violations, share its slot. */
export function budgetKey(tracker: string, endpoint: string): string {
  return `${tracker}:${endpoint}`;
}

/** What an authenticated caller of this tier spends on an endpoint; null when the endpoint is not limited or limiting is off. */
export function userBudget(config: AppConfig, endpoint: string, organizationId: string, userId: string, tier: Tier): BudgetSpend | null {
  const rule = ruleFor(endpoint);
  if (!config.RATE_LIMIT_ENABLED || rule === null) return null;
  return {
    key: budgetKey(userTracker(organizationId, userId), endpoint),
    endpoint,
    limit: effectiveLimit(rule, tier),
    windowMs: rule.windowMs,
    blockDurationMs: config.RATE_LIMIT_PENALTY_SECONDS * 1000,
  };
}

/**
 * Counts one request against its budget and decides: the one rate-limit decision, used by RateLimitGuard and by
 * the cached-hit fast path, so a request is counted exactly once whichever path serves it.
 */
export async function spendBudget(storage: RateLimitStorage, stats: RateLimitStats, spend: BudgetSpend): Promise<RateLimitDecision> {
  const { limit, windowMs, endpoint } = spend;
  const record = await storage.increment(spend.key, windowMs, limit, spend.blockDurationMs);
  const headers = {
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': String(record.isBlocked ? 0 : Math.max(0, limit - record.totalHits)),
    // While blocked the budget comes back when the block ends, not when the window would have reset.
    'X-RateLimit-Reset': String(Math.ceil((record.isBlocked ? record.blockedUntil : record.resetAt) / 1000)),
  };
  if (!record.isBlocked) return { headers, rejection: null };

  stats.recordRejection(endpoint);
  const detail = record.violation
    ? `Rate limit of ${limit} requests per ${describeWindow(windowMs)} exceeded on ${endpoint} (violation ${record.violation} in 24 h); blocked for ${record.timeToBlockExpire} s`
    : `Blocked on ${endpoint} for another ${record.timeToBlockExpire} s after exceeding its rate limit`;
  return { headers, rejection: new TooManyRequestsException(record.timeToBlockExpire, detail) };
}

function describeWindow(ms: number): string {
  if (ms === 3_600_000) return 'hour';
  if (ms === 60_000) return 'minute';
  return `${ms / 1000} s`;
}
