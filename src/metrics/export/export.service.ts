import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { Response } from 'express';
import { Clock } from '../../common/clock.js';
import { RequestMetrics } from '../../observability/request-metrics.js';
import { OrganizationsRepository } from '../../organizations/organizations.repository.js';
import { DEFAULT_METRIC_TYPES, type ExportRequest } from '../dto/metrics-query.dto.js';
import { ActivitySeriesReader } from '../activity-series.reader.js';
import { periodWindow } from '../periods.js';
import { round2, summarize } from '../statistics.js';
import { SystemMetricsReader } from '../system-metrics.reader.js';
import { EXPORT_COLUMNS, ExportTable } from './export-table.js';
import { EXPORT_CONTENT_TYPES, EXPORT_WRITERS, ExportFormat } from './export-writers.js';

@Injectable()
export class ExportService {
  private readonly logger = new Logger('MetricsExport');

  constructor(
    private readonly series: ActivitySeriesReader,
    private readonly organizations: OrganizationsRepository,
    private readonly system: SystemMetricsReader,
    private readonly requests: RequestMetrics,
    private readonly clock: Clock,
  ) {}

  /** Computes everything first (a failure is still a problem+json), then streams the file to the response. */
  async send(organizationId: string, request: ExportRequest, response: Response): Promise<void> {
    const format: ExportFormat = request.format === 'excel' ? 'xlsx' : request.format;
    const table = await this.build(organizationId, request);
    const day = table.generated_at.slice(0, 10).replaceAll('-', '');
    response.status(200);
    response.setHeader('Content-Type', EXPORT_CONTENT_TYPES[format]);
    response.setHeader('Content-Disposition', `attachment; filename="metrics-${table.organization.slug}-${table.date_range}-${day}.${format}"`);
    response.setHeader('Cache-Control', 'no-store');
    try {
      await EXPORT_WRITERS[format](table, response);
    } catch (error) {
      // Once the file has started there is no status left to send: cut the download short instead.
      if (!response.headersSent) throw error;
      this.logger.error({ msg: 'export stream failed', err: error });
      response.destroy(error instanceof Error ? error : undefined);
    }
  }

  async build(organizationId: string, request: ExportRequest): Promise<ExportTable> {
    const now = this.clock.date();
    const types = request.metric_types ?? DEFAULT_METRIC_TYPES;
    const window = periodWindow(request.date_range, now);
    const [organization, buckets] = await Promise.all([
      this.organizations.findById(organizationId),
      this.series.read(organizationId, window),
    ]);
    if (!organization) throw new NotFoundException('The organization no longer exists');
    const columns = types.flatMap((type) => (type === 'system' ? [] : EXPORT_COLUMNS[type]));
    const rows = buckets.map((bucket) => ({
      bucket_start: bucket.bucket_start.toISOString(),
      values: columns.map((column) => {
        const value = bucket[column.field] as number | null;
        return Number.isInteger(value) || value === null ? value : round2(value);
      }),
    }));
    const summary = Object.fromEntries(columns.map((column, index) => [column.name, summarize(rows.map((row) => row.values[index]))]));
    return {
      organization: { id: organization.id, name: organization.name, slug: organization.slug },
      date_range: request.date_range,
      bucket: window.bucket,
      since: window.since.toISOString(),
      generated_at: now.toISOString(),
      columns: columns.map((column) => column.name),
      rows,
      summary,
      system: types.includes('system') ? await this.systemFigures() : null,
    };
  }

  private async systemFigures(): Promise<Record<string, number | null>> {
    const [system, window] = [await this.system.read(), this.requests.summary()];
    return {
      api_p50_ms: window.p50Ms,
      api_p95_ms: window.p95Ms,
      api_p99_ms: window.p99Ms,
      requests_last_5_minutes: window.requests,
      error_rate: system.error_rate,
      cache_hit_rate: system.cache_hit_rate,
      database_connections: system.database_connections,
      redis_memory_usage: system.redis_memory_usage,
    };
  }
}
