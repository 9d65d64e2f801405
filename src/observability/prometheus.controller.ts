import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../auth/auth.decorators.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { MetricsAccessGuard } from './metrics-access.guard.js';
import { PrometheusExporter } from './prometheus-exporter.js';

/** GET /metrics at the root (excluded from the /api/v1 prefix): not behind a user's token, see MetricsAccessGuard. */
@ApiTags('operations')
@Public()
@UseGuards(MetricsAccessGuard)
@Controller('metrics')
export class PrometheusController {
  constructor(private readonly exporter: PrometheusExporter) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format: http_request_duration_seconds by method, route template and status; cache hits and misses; ' +
      'rate-limit rejections; database pool and Redis state; process metrics. Disabled by METRICS_ENABLED=false; ' +
      'when METRICS_TOKEN is set it needs the header `Authorization: Bearer <METRICS_TOKEN>` (not a user token).',
  })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'The exposition text', schema: { type: 'string', example: 'toolbox_redis_up 1\n' } })
  @ApiUnauthorizedResponse({ description: 'METRICS_TOKEN is set and the bearer token is missing or wrong', type: ProblemResponse })
  @ApiNotFoundResponse({ description: 'METRICS_ENABLED=false', type: ProblemResponse })
  scrape(): Promise<string> {
    return this.exporter.metrics();
  }
}
