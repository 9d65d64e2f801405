import { applyHit, RateLimitHit, toRecord, WindowState } from './rate-limit-window';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const DAY_MS = 86_400_000;

function budget(): WindowState {
  return { count: 0, resetAt: 0, blockedUntil: 0, violations: [] };
}

function at(now: number, overrides: Partial<RateLimitHit> = {}): RateLimitHit {
  return { now, limit: 2, windowMs: 60_000, basePenaltyMs: 300_000, capMs: DAY_MS, violationMemoryMs: DAY_MS, ...overrides };
}

describe('applyHit (the rules the Lua script mirrors)', () => {
  it('opens a window with the first request and counts within it', () => {
    const state = budget();
    expect(applyHit(state, at(T0))).toEqual([1, T0 + 60_000, 0, 0]);
    expect(applyHit(state, at(T0 + 59_999))).toEqual([2, T0 + 60_000, 0, 0]);
    expect(applyHit(state, at(T0 + 60_000, { limit: 5 }))).toEqual([1, T0 + 120_000, 0, 0]);
  });

  it('blocks the k-th violation in 24 h for penalty × 2^(k−1), counting nothing while blocked', () => {
    const state = budget();
    let now = T0;
    const blocks: number[] = [];
    for (let k = 1; k <= 4; k++) {
      applyHit(state, at(now));
      applyHit(state, at(now));
      const [count, , blockedUntil, violation] = applyHit(state, at(now));
      expect([count, violation]).toEqual([3, k]);
      blocks.push(blockedUntil - now);
      expect(applyHit(state, at(blockedUntil - 1))).toEqual([3, now + 60_000, blockedUntil, 0]);
      now = blockedUntil;
    }
    expect(blocks).toEqual([300_000, 600_000, 1_200_000, 2_400_000]);
  });

  it('caps the block at 24 h and forgets violations older than 24 h', () => {
    const state = budget();
    let now = T0;
    const blocks: number[] = [];
    for (let k = 1; k <= 3; k++) {
      for (let n = 0; n < 3; n++) applyHit(state, at(now, { basePenaltyMs: 50_000_000 }));
      blocks.push(state.blockedUntil - now);
      now = state.blockedUntil;
    }
    // 50000 s, then 100000 s capped at 86400 s; a block of 24 h outlives every earlier violation, so the next is a first.
    expect(blocks).toEqual([50_000_000, DAY_MS, 50_000_000]);
    expect(state.violations).toEqual([T0 + 136_400_000]);
  });

  it('keeps the block until the window resets when the penalty is shorter (hourly export)', () => {
    const state = budget();
    for (let n = 0; n < 2; n++) applyHit(state, at(T0, { windowMs: 3_600_000 }));
    const outcome = applyHit(state, at(T0 + 1_000, { windowMs: 3_600_000 }));
    expect(outcome).toEqual([3, T0 + 3_600_000, T0 + 3_600_000, 1]);
    expect(toRecord(outcome, T0 + 1_000)).toEqual({
      totalHits: 3,
      timeToExpire: 3599,
      isBlocked: true,
      timeToBlockExpire: 3599,
      resetAt: T0 + 3_600_000,
      blockedUntil: T0 + 3_600_000,
      violation: 1,
    });
  });

  it('never tells a blocked caller to retry after 0 s', () => {
    expect(toRecord([3, T0, T0 + 200, 0], T0).timeToBlockExpire).toBe(1);
    expect(toRecord([1, T0 + 60_000, 0, 0], T0)).toMatchObject({ isBlocked: false, timeToBlockExpire: 0, timeToExpire: 60 });
  });
});
