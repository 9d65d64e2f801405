import { Injectable } from '@nestjs/common';
import type { SeriesBucket, SeriesWindow } from '../rollups/figure-types.js';
import { RollupsRepository } from '../rollups/rollups.repository.js';
import { MetricsRepository } from './metrics.repository.js';

/**
 * The activity series of statistics and exports: day buckets from the per-day rollups (their cost does not grow with
 * raw events, and they stay exact after retention drops old events), hour buckets from the last hours' raw events.
 */
@Injectable()
export class ActivitySeriesReader {
  constructor(
    private readonly metrics: MetricsRepository,
    private readonly rollups: RollupsRepository,
  ) {}

  read(organizationId: string, window: SeriesWindow): Promise<SeriesBucket[]> {
    return window.bucketSeconds === 86_400 ? this.rollups.dailySeries(organizationId, window) : this.metrics.activitySeries(organizationId, window);
  }
}
