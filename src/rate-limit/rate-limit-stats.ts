import { Injectable } from '@nestjs/common';

/** Cumulative rate-limit counters since start, for the Prometheus exporter to read at scrape time. */
@Injectable()
export class RateLimitStats {
  private readonly rejections = new Map<string, number>();
  private fallbacks = 0;
  private degraded = false;

  /** A 429, by endpoint ("GET /api/v1/metrics/dashboard"). */
  recordRejection(endpoint: string): void {
    this.rejections.set(endpoint, (this.rejections.get(endpoint) ?? 0) + 1);
  }

  /** A request counted in process memory because Redis failed or was unreachable. */
  recordFallback(): void {
    this.fallbacks += 1;
  }

  setRedisDegraded(degraded: boolean): void {
    this.degraded = degraded;
  }

  rejectionsByEndpoint(): ReadonlyMap<string, number> {
    return this.rejections;
  }

  get totalRejections(): number {
    let total = 0;
    for (const count of this.rejections.values()) total += count;
    return total;
  }

  get fallbackCount(): number {
    return this.fallbacks;
  }

  /** True from the first Redis failure until Redis answers again. */
  get redisDegraded(): boolean {
    return this.degraded;
  }
}
