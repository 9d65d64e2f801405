import { Module } from '@nestjs/common';
import { EventPartitionsRepository } from './event-partitions.repository.js';
import { EventPartitionsService } from './event-partitions.service.js';

@Module({
  providers: [EventPartitionsRepository, EventPartitionsService],
  exports: [EventPartitionsService],
})
export class PartitionsModule {}
