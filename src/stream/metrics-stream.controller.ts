import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Caller } from '../auth/principal.js';
import { ApiKeyAllowed } from '../api-keys/api-key-scopes.js';
import { ApiAuthenticated } from '../common/api-errors.decorators.js';
import { StreamQuery } from './dto/stream-query.dto.js';
import { MetricsStreamService } from './metrics-stream.service.js';

@ApiTags('metrics')
@ApiAuthenticated()
@Roles('admin', 'teacher')
// Like the other metrics reads: an API key with metrics:read may follow the dashboard too.
@ApiKeyAllowed('metrics:read')
@Controller('metrics')
export class MetricsStreamController {
  constructor(private readonly streams: MetricsStreamService) {}

  @Get('stream')
  @ApiOperation({
    summary: 'The dashboard, live: Server-Sent Events',
    description: [
      'A `text/event-stream` that stays open. Events, each `data` one JSON object:',
      '',
      '- `init` (first, on every connect and reconnect): the dashboard, the same body as GET /api/v1/metrics/dashboard, with `id:` the instant its figures were computed (ms since the epoch).',
      '- `dashboard`: the fresh dashboard, same body and id, within 2 s of any write to the organization on any instance (at most one a second).',
      '- `activity`: one per accepted event batch that stored events: `{organization_id, accepted, by_type: {login, session, lesson_completed, assessment_submitted}, at}`. No id; not replayed after a reconnect.',
      '- `end`: `{reason}` (`token_expired`, `token_revoked`, `forbidden`, `shutdown`), after which the server closes the stream.',
      '',
      'A comment line (`: heartbeat`) comes every STREAM_HEARTBEAT_SECONDS (15 s by default) and `retry: 3000` at the start. A client reconnecting with `Last-Event-ID` gets the latest state at once as its `init` (missed `dashboard` events are never needed). ' +
        'At most STREAM_MAX_PER_ORGANIZATION (20 by default) streams are open per organization across all instances; the next gets 429. ' +
        'The stream ends when its token expires or stops being valid (logout, deactivation, a role without metrics). ' +
        'An API key with the metrics:read scope may open it as well; its stream ends (`token_revoked`, `token_expired`) within 5 s of the key being revoked on any instance, and within about a second of its expiry. Opening a stream counts against the rate limit below; what it sends afterwards does not. ' +
        'EventSource cannot send an Authorization header: read the stream with fetch() and a ReadableStream.',
    ].join('\n'),
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received, when reconnecting', schema: { type: 'string', maxLength: 64 } })
  @ApiOkResponse({
    description: 'The open stream (Cache-Control: no-cache, X-Accel-Buffering: no)',
    content: { 'text/event-stream': { schema: { type: 'string', example: 'retry: 3000\n\nid: 1764800000000\nevent: init\ndata: {"timestamp":"…"}\n\n' } } },
  })
  async stream(
    @CurrentPrincipal() principal: Caller,
    @Req() request: Request,
    @Res() response: Response,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query() _query: StreamQuery,
  ): Promise<void> {
    await this.streams.open(principal, request, response, lastEventId);
  }
}
