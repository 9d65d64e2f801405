import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';

const WINDOW_SECONDS = 300;

interface Slot {
  second: number;
  hits: number;
  misses: number;
}

/**
 * Hits and misses of the metric caches: cumulative totals (for Prometheus counters) and a rolling
 * 5-minute window in one slot per second (for system_metrics.cache_hit_rate), so memory stays fixed.
 */
@Injectable()
export class CacheStats {
  hits = 0;
  misses = 0;
  private readonly slots: Slot[] = Array.from({ length: WINDOW_SECONDS }, () => ({ second: -1, hits: 0, misses: 0 }));

  constructor(private readonly clock: Clock) {}

  record(hit: boolean): void {
    if (hit) this.hits++;
    else this.misses++;
    const second = Math.floor(this.clock.now() / 1000);
    const slot = this.slots[second % WINDOW_SECONDS];
    if (slot.second !== second) Object.assign(slot, { second, hits: 0, misses: 0 });
    if (hit) slot.hits++;
    else slot.misses++;
  }

  /** Hits ÷ lookups over the last 5 minutes in %, two decimals; null without lookups. */
  hitRatePct(): number | null {
    const now = Math.floor(this.clock.now() / 1000);
    let hits = 0;
    let lookups = 0;
    for (const slot of this.slots) {
      if (slot.second <= now - WINDOW_SECONDS || slot.second > now) continue;
      hits += slot.hits;
      lookups += slot.hits + slot.misses;
    }
    return lookups === 0 ? null : Math.round((hits / lookups) * 10000) / 100;
  }
}
