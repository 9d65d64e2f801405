import { Module } from '@nestjs/common';
import { ContentModule } from '../content/content.module.js';
import { EventsController } from './events.controller.js';
import { EventsRepository } from './events.repository.js';
import { EventsService } from './events.service.js';
import { ExternalIdsRepository } from './external-ids.repository.js';

@Module({
  imports: [ContentModule],
  controllers: [EventsController],
  providers: [EventsService, EventsRepository, ExternalIdsRepository],
  // xAPI statements become events through the same repositories.
  exports: [EventsRepository, ExternalIdsRepository],
})
export class EventsModule {}
