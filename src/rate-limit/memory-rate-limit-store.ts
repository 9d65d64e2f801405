import { applyHit, expiresAt, HitOutcome, RateLimitHit, WindowState } from './rate-limit-window.js';

const MAX_ENTRIES = 100_000;
const SWEEP_EVERY = 1_000;

/** Budgets in this process only: the embedded mode, and the fallback while Redis is unreachable. */
export class MemoryRateLimitStore {
  private readonly states = new Map<string, WindowState>();
  private hitsSinceSweep = 0;

  hit(key: string, hit: RateLimitHit): HitOutcome {
    if (++this.hitsSinceSweep >= SWEEP_EVERY) this.sweep(hit.now, hit.violationMemoryMs);
    let state = this.states.get(key);
    if (!state) {
      // Bounded memory: the oldest budget goes first (a Map iterates in insertion order).
      if (this.states.size >= MAX_ENTRIES) this.states.delete(this.states.keys().next().value as string);
      state = { count: 0, resetAt: 0, blockedUntil: 0, violations: [] };
      this.states.set(key, state);
    }
    return applyHit(state, hit);
  }

  /** One request given back within the current window (never below zero). */
  refund(key: string, now: number): void {
    const state = this.states.get(key);
    if (state && state.count > 0 && state.resetAt > now) state.count -= 1;
  }

  get size(): number {
    return this.states.size;
  }

  private sweep(now: number, violationMemoryMs: number): void {
    this.hitsSinceSweep = 0;
    for (const [key, state] of this.states) if (expiresAt(state, violationMemoryMs) <= now) this.states.delete(key);
  }
}
