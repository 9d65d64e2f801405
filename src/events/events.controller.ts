import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiAuthenticated, ApiValidation } from '../common/api-errors.decorators.js';
import { IngestEventsRequest, IngestEventsResponse } from './dto/event.dto.js';
import { CheckedBatch, EventBatchPipe } from './event-batch.pipe.js';
import { EventsService } from './events.service.js';

@ApiTags('events')
@ApiAuthenticated()
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @HttpCode(202)
  @Roles('admin', 'teacher')
  @ApiOperation({ summary: 'Record 1–1000 activity events atomically; ids already stored are skipped' })
  @ApiAcceptedResponse({ type: IngestEventsResponse })
  @ApiBody({ type: IngestEventsRequest })
  @ApiValidation()
  ingest(@CurrentPrincipal() principal: Principal, @Body(EventBatchPipe) body: CheckedBatch): Promise<IngestEventsResponse> {
    return this.events.ingest(principal.organizationId, body.events, body.eventErrors);
  }
}
