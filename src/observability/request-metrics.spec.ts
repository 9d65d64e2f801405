import { Clock } from '../common/clock';
import { RequestMetrics } from './request-metrics';

class FixedClock extends Clock {
  constructor(public current: number) {
    super();
  }
  override now(): number {
    return this.current;
  }
}

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('RequestMetrics', () => {
  let clock: FixedClock;
  let metrics: RequestMetrics;
  beforeEach(() => {
    clock = new FixedClock(T0);
    metrics = new RequestMetrics(clock);
  });

  it('summarises the window with nearest-rank percentiles and the share of 5xx', () => {
    [20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19].forEach((ms, i) => metrics.record('/r', 'GET', i < 2 ? 503 : 200, ms));
    expect(metrics.summary()).toEqual({ requests: 20, p50Ms: 10, p95Ms: 19, p99Ms: 20, errorRatePct: 10 });
  });

  it('answers nulls without requests in the window', () => {
    expect(metrics.summary()).toEqual({ requests: 0, p50Ms: null, p95Ms: null, p99Ms: null, errorRatePct: null });
  });

  it('keeps the last 300 whole seconds and forgets what is older', () => {
    metrics.record('/r', 'GET', 500, 100);
    clock.current = T0 + 299_999;
    metrics.record('/r', 'GET', 200, 10);
    expect(metrics.summary()).toEqual({ requests: 2, p50Ms: 10, p95Ms: 100, p99Ms: 100, errorRatePct: 50 });
    clock.current = T0 + 300_000;
    expect(metrics.summary()).toEqual({ requests: 1, p50Ms: 10, p95Ms: 10, p99Ms: 10, errorRatePct: 0 });
    clock.current = T0 + 600_000;
    expect(metrics.summary().requests).toBe(0);
  });

  it('reuses the slot of a second that left the window without carrying its counts', () => {
    metrics.record('/r', 'GET', 500, 5);
    clock.current = T0 + 300_000; // the same slot, 300 seconds later
    metrics.record('/r', 'GET', 200, 7);
    expect(metrics.summary()).toEqual({ requests: 1, p50Ms: 7, p95Ms: 7, p99Ms: 7, errorRatePct: 0 });
  });

  it('counts every request but takes percentiles over the last 10,000 under heavy load', () => {
    for (let i = 0; i < 5_000; i++) metrics.record('/r', 'GET', 500, 1_000);
    for (let i = 0; i < 10_000; i++) metrics.record('/r', 'GET', 200, 2);
    expect(metrics.summary()).toEqual({ requests: 15_000, p50Ms: 2, p95Ms: 2, p99Ms: 2, errorRatePct: 33.33 });
  });

  it('hands every record to its listeners, as given', () => {
    const seen: unknown[] = [];
    metrics.onRecord((...args) => seen.push(args));
    metrics.record('/api/v1/users/:id', 'PATCH', 404, 3.25);
    expect(seen).toEqual([['/api/v1/users/:id', 'PATCH', 404, 3.25]]);
  });
});
