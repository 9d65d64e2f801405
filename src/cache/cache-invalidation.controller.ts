import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiAuthenticated } from '../common/api-errors.decorators.js';
import { Clock } from '../common/clock.js';
import { CacheGenerations } from './cache-generations.js';
import { InvalidateCacheResponse } from './dto/invalidate-cache.response.js';

@ApiTags('metrics')
@ApiAuthenticated()
@Controller('metrics')
export class CacheInvalidationController {
  constructor(
    private readonly generations: CacheGenerations,
    private readonly clock: Clock,
  ) {}

  @Post('invalidate-cache')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Drop every cached metric of the caller’s organization (admin only)',
    description: 'The next dashboard, activity and statistics reads recompute. Other organizations’ cached metrics stay valid.',
  })
  @ApiOkResponse({ type: InvalidateCacheResponse })
  async invalidate(@CurrentPrincipal() principal: Principal): Promise<InvalidateCacheResponse> {
    await this.generations.move(principal.organizationId);
    return { status: 'success', organization_id: principal.organizationId, invalidated_at: this.clock.date().toISOString() };
  }
}
