import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators.js';
import { currentRequestContext } from '../correlation/request-context.js';
import { problem, sendProblem } from '../errors/problem.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

type CheckState = 'up' | 'down' | 'disabled';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: RedisConnection,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'The database and Redis are reachable (Redis is "disabled" in the embedded mode)' })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { database: 'up', redis: 'up' } } } })
  @ApiServiceUnavailableResponse({ description: 'Names the dependency that is down in checks', type: ProblemResponse })
  async ready(@Res() response: Response): Promise<void> {
    const database: CheckState = await withTimeout(this.dataSource.query('SELECT 1'), 2000).then(
      () => 'up',
      () => 'down',
    );
    const redis: CheckState = this.redis.enabled ? ((await this.redis.ping()) ? 'up' : 'down') : 'disabled';
    const checks = { database, redis };
    if (database === 'down' || redis === 'down') {
      const down = Object.entries(checks).filter(([, state]) => state === 'down').map(([name]) => name);
      const body = problem(503, `Not ready: ${down.join(' and ')} unreachable`, response.req.originalUrl, currentRequestContext()?.correlationId ?? null);
      sendProblem(response, { ...body, checks } as typeof body);
      return;
    }
    response.status(200).json({ status: 'ok', checks });
  }
}
