import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Caller } from '../auth/principal.js';
import { ApiKeyAllowed } from '../api-keys/api-key-scopes.js';
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
  @ApiKeyAllowed('events:write')
  @ApiOperation({ summary: 'Record 1–1000 activity events atomically; ids already stored are skipped',
    description:
      'Name each learner by user_id or by the platform’s own user_external_id (an unknown one is created as a student without password, ' +
      'created at their earliest occurred_at in the batch), and content by content_id or content_external_id (an unknown one is created as ' +
      'a published lesson). Creation happens in the batch’s transaction: an invalid batch creates nobody.',
  })
  @ApiAcceptedResponse({ type: IngestEventsResponse })
  @ApiBody({ type: IngestEventsRequest })
  @ApiValidation()
  ingest(@CurrentPrincipal() principal: Caller, @Body(EventBatchPipe) body: CheckedBatch): Promise<IngestEventsResponse> {
    return this.events.ingest(principal.organizationId, body.events, body.eventErrors);
  }
}
