import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';

const WINDOW_SECONDS = 300;
/** Percentiles come from at most this many most recent requests of the window: bounded memory and sort time under load. */
const MAX_SAMPLES = 10_000;

export interface RequestWindowSummary {
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  errorRatePct: number | null;
}

type Listener = (route: string, method: string, status: number, durationMs: number) => void;

interface SecondSlot {
  second: number;
  requests: number;
  errors: number;
}

/**
 * The one recorder of request durations and statuses. system_metrics reads its 5-minute window (the
 * last 300 whole seconds); the Prometheus exporter subscribes to the same records, so both tell one story.
 * Request and error counts are exact (one slot per second); percentiles are exact over the window's
 * requests up to the last MAX_SAMPLES of them, kept in a ring of typed arrays.
 */
@Injectable()
export class RequestMetrics {
  private readonly sampleSeconds = new Float64Array(MAX_SAMPLES);
  private readonly sampleDurations = new Float64Array(MAX_SAMPLES);
  private nextSample = 0;
  private storedSamples = 0;
  private readonly slots: SecondSlot[] = Array.from({ length: WINDOW_SECONDS }, () => ({ second: -1, requests: 0, errors: 0 }));
  private readonly listeners: Listener[] = [];

  constructor(private readonly clock: Clock) {}

  onRecord(listener: Listener): void {
    this.listeners.push(listener);
  }

  record(route: string, method: string, status: number, durationMs: number): void {
    const second = Math.floor(this.clock.now() / 1000);
    this.sampleSeconds[this.nextSample] = second;
    this.sampleDurations[this.nextSample] = durationMs;
    this.nextSample = (this.nextSample + 1) % MAX_SAMPLES;
    this.storedSamples = Math.min(this.storedSamples + 1, MAX_SAMPLES);

    const slot = this.slots[second % WINDOW_SECONDS];
    if (slot.second !== second) Object.assign(slot, { second, requests: 0, errors: 0 });
    slot.requests++;
    if (status >= 500) slot.errors++;

    for (const listener of this.listeners) listener(route, method, status, durationMs);
  }

  summary(): RequestWindowSummary {
    const now = Math.floor(this.clock.now() / 1000);
    const first = now - WINDOW_SECONDS + 1;
    const inWindow = (second: number) => second >= first && second <= now;

    let requests = 0;
    let errors = 0;
    for (const slot of this.slots) {
      if (!inWindow(slot.second)) continue;
      requests += slot.requests;
      errors += slot.errors;
    }
    if (requests === 0) return { requests: 0, p50Ms: null, p95Ms: null, p99Ms: null, errorRatePct: null };

    const durations: number[] = [];
    for (let i = 0; i < this.storedSamples; i++) if (inWindow(this.sampleSeconds[i])) durations.push(this.sampleDurations[i]);
    const sorted = Float64Array.from(durations).sort();
    return {
      requests,
      p50Ms: nearestRank(sorted, 50),
      p95Ms: nearestRank(sorted, 95),
      p99Ms: nearestRank(sorted, 99),
      errorRatePct: round2((errors / requests) * 100),
    };
  }
}

/** Nearest-rank percentile of an ascending list: the smallest value with at least p% of values at or below it. */
function nearestRank(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return round2(sorted[rank - 1]);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
