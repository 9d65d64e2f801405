import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators.js';
import { ReadReplicas } from '../database/read-replicas.js';
import { currentRequestContext } from '../correlation/request-context.js';
import { problem, sendProblem } from '../errors/problem.js';
import { ProblemResponse } from '../errors/problem.dto.js';
import { RedisConnection, withTimeout } from '../redis/redis-connection.js';

type CheckState = 'up' | 'down' | 'disabled';

const READY_SCHEMA = {
  type: 'object',
  required: ['status', 'checks', 'replicas'],
  properties: {
    status: { type: 'string', enum: ['ok'] },
    checks: {
      type: 'object',
      required: ['database', 'redis'],
      properties: { database: { type: 'string', enum: ['up', 'down'] }, redis: { type: 'string', enum: ['up', 'down', 'disabled'] } },
    },
    replicas: {
      type: 'array',
      description: 'One entry per read replica, in the order of DATABASE_READ_URLS (empty without replicas)',
      items: {
        type: 'object',
        required: ['name', 'state', 'lag_seconds'],
        properties: {
          name: { type: 'string', example: 'replica-1' },
          state: { type: 'string', enum: ['up', 'lagging', 'down'] },
          lag_seconds: { type: 'number', nullable: true, minimum: 0, description: 'Replay lag at the last check; null while down' },
        },
      },
    },
  },
  example: { status: 'ok', checks: { database: 'up', redis: 'up' }, replicas: [{ name: 'replica-1', state: 'up', lag_seconds: 0 }] },
};

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: RedisConnection,
    private readonly replicas: ReadReplicas,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'The database and Redis are reachable (Redis is "disabled" in the embedded mode)',
    description:
      'Ready while the primary database and Redis answer. Each read replica is reported as up, lagging (replay further ' +
      'behind than REPLICA_MAX_LAG_SECONDS) or down; a replica that is not up takes no reads (they go to the primary) ' +
      'and never makes the service unready.',
  })
  @ApiOkResponse({ schema: READY_SCHEMA })
  @ApiServiceUnavailableResponse({ description: 'Names the dependency that is down in checks', type: ProblemResponse })
  async ready(@Res() response: Response): Promise<void> {
    const database: CheckState = await withTimeout(this.dataSource.query('SELECT 1'), 2000).then(
      () => 'up',
      () => 'down',
    );
    const redis: CheckState = this.redis.enabled ? ((await this.redis.ping()) ? 'up' : 'down') : 'disabled';
    const checks = { database, redis };
    const replicas = this.replicas.statuses();
    if (database === 'down' || redis === 'down') {
      const down = Object.entries(checks).filter(([, state]) => state === 'down').map(([name]) => name);
      const body = problem(503, `Not ready: ${down.join(' and ')} unreachable`, response.req.originalUrl, currentRequestContext()?.correlationId ?? null);
      sendProblem(response, { ...body, checks, replicas } as typeof body);
      return;
    }
    response.status(200).json({ status: 'ok', checks, replicas });
  }
}
