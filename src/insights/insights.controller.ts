import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiKeyAllowed } from '../api-keys/api-key-scopes.js';
import { CachedMetric } from '../cache/cached-metric.decorator.js';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { InsightsQuery, InsightsResponse } from './dto/insights.response.js';
import { InsightsService } from './insights.service.js';

@ApiTags('metrics')
@ApiAuthenticated()
@Roles('admin', 'teacher')
// A metrics read like the others: an API key with metrics:read may call it.
@ApiKeyAllowed('metrics:read')
@Controller('metrics')
export class InsightsController {
  constructor(private readonly insights: InsightsService) {}

  @Get('insights')
  @CachedMetric(300, { period: '30d' })
  @ApiOperation({
    summary: 'Anomalous days and a 7-day forecast for each daily statistics series',
    description:
      'A day is anomalous when its value lies more than 3.5 robust z-scores from the median of the same weekday over the previous ' +
      '4 weeks (or of the previous 28 days when fewer of those weekdays are history). The forecast is additive Holt-Winters with a ' +
      'weekly season (seasonal naive below 21 days of history) with an 80 % interval. Today, still under way, is not judged; the ' +
      'forecast starts with it. Deterministic for the same data; the definitions are in docs/metrics.md.',
  })
  @ApiOkResponse({ type: InsightsResponse, description: 'Anomalies and forecast of each series' })
  @ApiValidation()
  insightsOf(@CurrentPrincipal() principal: Principal, @Query() query: InsightsQuery) {
    return this.insights.insights(principal.organizationId, query.period);
  }
}
