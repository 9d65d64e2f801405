import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { TenantTransactions } from '../src/database/tenant-transactions.js';
import { MetricsRepository } from '../src/metrics/metrics.repository.js';
import { daysBefore, startOfUtcDay } from '../src/metrics/periods.js';

/**
 * The benchmark's baseline: the dashboard's figure families by plain aggregate SQL over the raw tables
 * (MetricsRepository's methods, the service's path before rollups), run side by side as the service ran them,
 * under the same role and row-level security. Returns each sample's wall time in ms.
 */
export async function timeRawDashboard(databaseUrl: string, organizationId: string, samples: number): Promise<number[]> {
  const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 10 } }).initialize();
  const raw = new MetricsRepository(new TenantTransactions(dataSource));
  const once = async () => {
    const now = new Date();
    const today = startOfUtcDay(now);
    const started = performance.now();
    await Promise.all([
      raw.userFigures(organizationId, now, today),
      raw.contentFigures(organizationId, now, today),
      raw.engagementFigures(organizationId, now, today),
      raw.engagementDays(organizationId, now, today, 7),
      raw.activitySeries(organizationId, { since: daysBefore(today, 6), bucketSeconds: 86400, buckets: 7, now }),
    ]);
    return performance.now() - started;
  };
  try {
    await once(); // warm the buffer cache, as the service's path is warm too
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await once());
    return times;
  } finally {
    await dataSource.destroy();
  }
}
