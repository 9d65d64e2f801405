import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';

const WINDOW_MS = 5 * 60 * 1000;

interface Sample {
  at: number;
  durationMs: number;
  status: number;
}

export interface RequestWindowSummary {
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  errorRatePct: number | null;
}

type Listener = (route: string, method: string, status: number, durationMs: number) => void;

/**
 * The one recorder of request durations and statuses. system_metrics reads its 5-minute window;
 * the Prometheus exporter subscribes to the same records, so both tell one story.
 */
@Injectable()
export class RequestMetrics {
  private samples: Sample[] = [];
  private head = 0;
  private readonly listeners: Listener[] = [];

  constructor(private readonly clock: Clock) {}

  onRecord(listener: Listener): void {
    this.listeners.push(listener);
  }

  record(route: string, method: string, status: number, durationMs: number): void {
    this.samples.push({ at: this.clock.now(), durationMs, status });
    for (const listener of this.listeners) listener(route, method, status, durationMs);
    if (this.samples.length > 1024 && this.head > this.samples.length / 2) this.compact();
  }

  summary(): RequestWindowSummary {
    this.expire();
    const live = this.samples.slice(this.head);
    if (live.length === 0) return { requests: 0, p50Ms: null, p95Ms: null, p99Ms: null, errorRatePct: null };
    const durations = live.map((sample) => sample.durationMs).sort((a, b) => a - b);
    const errors = live.filter((sample) => sample.status >= 500).length;
    return {
      requests: live.length,
      p50Ms: nearestRank(durations, 50),
      p95Ms: nearestRank(durations, 95),
      p99Ms: nearestRank(durations, 99),
      errorRatePct: round2((errors / live.length) * 100),
    };
  }

  private expire(): void {
    const cutoff = this.clock.now() - WINDOW_MS;
    while (this.head < this.samples.length && this.samples[this.head].at < cutoff) this.head++;
    this.compact();
  }

  private compact(): void {
    if (this.head === 0) return;
    this.samples = this.samples.slice(this.head);
    this.head = 0;
  }
}

/** Nearest-rank percentile of an ascending list: the smallest value with at least p% of values at or below it. */
function nearestRank(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return round2(sorted[rank - 1]);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
