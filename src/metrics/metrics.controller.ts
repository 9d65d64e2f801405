import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiKeyAllowed } from '../api-keys/api-key-scopes.js';
import { CachedMetric } from '../cache/cached-metric.decorator.js';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { ActivityResponse } from './dto/activity.response.js';
import { DashboardResponse } from './dto/dashboard.response.js';
import { ActivityQuery, DashboardQuery, ExportRequest, StatisticsQuery } from './dto/metrics-query.dto.js';
import { StatisticsResponse } from './dto/statistics.response.js';
import { ExportService } from './export/export.service.js';
import { MetricsService } from './metrics.service.js';

/** How the dashboard is cached; the live stream reads the same entries (src/stream). */
export const DASHBOARD_CACHE = { ttlSeconds: 900, queryDefaults: { force_refresh: 'false' } };

@ApiTags('metrics')
@ApiAuthenticated()
@Roles('admin', 'teacher')
// Every metrics read and the export; cache invalidation lives elsewhere and admits no key.
@ApiKeyAllowed('metrics:read')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly exports: ExportService,
  ) {}

  @Get('dashboard')
  @CachedMetric(DASHBOARD_CACHE.ttlSeconds, DASHBOARD_CACHE.queryDefaults)
  @ApiOperation({ summary: 'User, content, engagement and system figures with 7-day trends' })
  @ApiOkResponse({ type: DashboardResponse })
  @ApiValidation()
  // force_refresh is read by the metrics cache; the figures themselves are always computed fresh here.
  dashboard(@CurrentPrincipal() principal: Principal, @Query() _query: DashboardQuery) {
    return this.metrics.dashboard(principal.organizationId);
  }

  @Get('activity')
  @CachedMetric(60, { hours: '24', limit: '20' })
  @ApiOperation({ summary: 'Activity in the last `hours` hours: counts, hourly histogram, top content, newest events' })
  @ApiOkResponse({ type: ActivityResponse })
  @ApiValidation()
  activity(@CurrentPrincipal() principal: Principal, @Query() query: ActivityQuery) {
    return this.metrics.activity(principal.organizationId, query.hours, query.limit);
  }

  @Get('statistics')
  @CachedMetric(300, { period: '7d' })
  @ApiOperation({ summary: 'Zero-filled series per hour (24h) or day with summaries, and API performance' })
  @ApiOkResponse({ type: StatisticsResponse })
  @ApiValidation()
  statistics(@CurrentPrincipal() principal: Principal, @Query() query: StatisticsQuery) {
    return this.metrics.statistics(principal.organizationId, query.period);
  }

  @Post('export')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Download the metrics as a JSON, CSV or xlsx file',
    description: 'One row per UTC day (per hour for 24h) with a column per metric of the chosen types, plus a summary (a `summary` object in JSON, a second sheet in xlsx; the CSV is the table alone).',
  })
  @ApiBody({ type: ExportRequest })
  @ApiProduces('application/json', 'text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
  @ApiOkResponse({
    description: 'The file, with Content-Disposition: attachment; filename="metrics-<org slug>-<date_range>-<YYYYMMDD>.<ext>"',
    content: {
      'application/json': { schema: { type: 'object' } },
      'text/csv': { schema: { type: 'string' } },
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { schema: { type: 'string', format: 'binary' } },
    },
  })
  @ApiValidation()
  async export(@CurrentPrincipal() principal: Principal, @Body() body: ExportRequest, @Res() response: Response): Promise<void> {
    await this.exports.send(principal.organizationId, body, response);
  }
}
