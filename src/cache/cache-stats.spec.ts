import { Clock } from '../common/clock';
import { CacheStats } from './cache-stats';

class FixedClock extends Clock {
  constructor(public at: number) {
    super();
  }
  override now(): number {
    return this.at;
  }
}

describe('CacheStats', () => {
  const start = Date.parse('2026-11-20T12:00:00.000Z');

  it('has no hit rate without lookups', () => {
    expect(new CacheStats(new FixedClock(start)).hitRatePct()).toBeNull();
  });

  it('gives hits ÷ lookups in % over the last 5 minutes and keeps cumulative totals', () => {
    const clock = new FixedClock(start);
    const stats = new CacheStats(clock);
    stats.record(false);
    stats.record(true);
    stats.record(true);
    expect(stats.hitRatePct()).toBe(66.67);

    clock.at = start + 200_000;
    stats.record(true);
    expect(stats.hitRatePct()).toBe(75);

    // The first three lookups are now older than 5 minutes; only the one at +200 s remains.
    clock.at = start + 300_000;
    expect(stats.hitRatePct()).toBe(100);
    stats.record(false);
    expect(stats.hitRatePct()).toBe(50);

    clock.at = start + 600_000;
    expect(stats.hitRatePct()).toBeNull();
    expect({ hits: stats.hits, misses: stats.misses }).toEqual({ hits: 3, misses: 2 });
  });

  it('reuses a slot of the ring only for its own second', () => {
    const clock = new FixedClock(start);
    const stats = new CacheStats(clock);
    stats.record(true);
    clock.at = start + 300_000; // same slot, five minutes later
    stats.record(false);
    expect(stats.hitRatePct()).toBe(0);
  });
});
