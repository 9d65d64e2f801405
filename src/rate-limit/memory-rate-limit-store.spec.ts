import { MemoryRateLimitStore } from './memory-rate-limit-store';
import type { RateLimitHit } from './rate-limit-window';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const at = (now: number): RateLimitHit => ({ now, limit: 5, windowMs: 60_000, basePenaltyMs: 300_000, capMs: 86_400_000, violationMemoryMs: 86_400_000 });

describe('MemoryRateLimitStore', () => {
  it('keeps one budget per key', () => {
    const store = new MemoryRateLimitStore();
    expect([store.hit('{u:a}:GET /x', at(T0)), store.hit('{u:a}:GET /x', at(T0)), store.hit('{u:b}:GET /x', at(T0))]).toEqual([
      [1, T0 + 60_000, 0, 0],
      [2, T0 + 60_000, 0, 0],
      [1, T0 + 60_000, 0, 0],
    ]);
  });

  it('forgets budgets whose window, block and violations are over, every thousand requests', () => {
    const store = new MemoryRateLimitStore();
    for (let n = 0; n < 1000; n++) store.hit(`{ip:10.0.${n >> 8}.${n & 255}}:POST /y`, at(T0));
    expect(store.size).toBe(1000);
    const later = T0 + 60_000;
    for (let n = 0; n < 999; n++) store.hit(`{ip:10.1.${n >> 8}.${n & 255}}:POST /y`, at(later));
    expect(store.size).toBe(1999);
    // The 2000th request sweeps: the first thousand windows ended at `later`.
    store.hit('{ip:10.2.0.0}:POST /y', at(later));
    expect(store.size).toBe(1000);
  });
});
