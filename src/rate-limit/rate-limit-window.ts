/** One request against a budget; `now` comes from the injected Clock so tests move time by hand. */
export interface RateLimitHit {
  now: number;
  limit: number;
  windowMs: number;
  /** The first violation's block; the k-th blocks for this × 2^(k−1), capped at capMs. */
  basePenaltyMs: number;
  capMs: number;
  /** How long a violation counts towards k. */
  violationMemoryMs: number;
}

/** What the Lua script and the memory store both answer: [count, resetAt, blockedUntil, violations]. */
export type HitOutcome = [count: number, resetAt: number, blockedUntil: number, violations: number];

/** ThrottlerStorage's record (its first four fields, times in seconds) plus the absolute times our headers need. */
export interface RateLimitRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
  resetAt: number;
  blockedUntil: number;
  /** k when this very request was the k-th violation, else 0. */
  violation: number;
}

export function toRecord([count, resetAt, blockedUntil, violations]: HitOutcome, now: number): RateLimitRecord {
  const isBlocked = blockedUntil > now;
  return {
    totalHits: count,
    timeToExpire: Math.max(0, Math.ceil((resetAt - now) / 1000)),
    isBlocked,
    // Never 0 while blocked: "retry after 0 s" would invite an immediate, refused retry.
    timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil((blockedUntil - now) / 1000)) : 0,
    resetAt,
    blockedUntil,
    violation: violations,
  };
}

/** The state of one budget (one subject on one endpoint); the Redis hash holds the same fields. */
export interface WindowState {
  count: number;
  resetAt: number;
  blockedUntil: number;
  violations: number[];
}

/**
 * A fixed window that starts with its first request. The request over the limit is a violation: it blocks
 * for the progressive penalty, and at least until the window resets, since the budget is spent until then.
 * Requests while blocked are refused without counting. Mirrors RATE_LIMIT_SCRIPT line for line.
 */
export function applyHit(state: WindowState, hit: RateLimitHit): HitOutcome {
  const { now } = hit;
  if (state.blockedUntil > now) return [state.count, state.resetAt, state.blockedUntil, 0];
  if (state.resetAt <= now) {
    state.count = 0;
    state.resetAt = now + hit.windowMs;
  }
  state.count += 1;
  let violations = 0;
  if (state.count > hit.limit) {
    state.violations = state.violations.filter((at) => at > now - hit.violationMemoryMs);
    state.violations.push(now);
    violations = state.violations.length;
    const penalty = Math.min(hit.basePenaltyMs * 2 ** (violations - 1), hit.capMs);
    state.blockedUntil = Math.max(now + penalty, state.resetAt);
  }
  return [state.count, state.resetAt, state.blockedUntil, violations];
}

/** When a budget's state can be forgotten. */
export function expiresAt(state: WindowState, violationMemoryMs: number): number {
  const lastViolation = state.violations.length ? state.violations[state.violations.length - 1] + violationMemoryMs : 0;
  return Math.max(state.resetAt, state.blockedUntil, lastViolation);
}
