import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsNumber, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { EVENT_TYPES, type EventType } from '../../database/entities/activity-event.entity.js';
import { IsNotFuture } from '../../common/validators.js';

export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
export const MAX_BATCH = 1000;

export class EventInput {
  @ApiPropertyOptional({ format: 'uuid', description: 'Client-chosen id: a retried batch skips events already stored' })
  @IsOptional()
  @IsUUID()
  id?: string;

  @ApiProperty({ enum: EVENT_TYPES })
  @IsIn(EVENT_TYPES)
  type: EventType;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  user_id: string;

  @ApiProperty({ format: 'date-time', description: 'At most 5 minutes in the future' })
  @IsNotFuture(MAX_FUTURE_SKEW_MS)
  occurred_at: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  content_id?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 86400, description: 'Required for session events' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86400)
  duration_seconds?: number;

  @ApiPropertyOptional({ type: Number, minimum: 0, maximum: 100, description: 'Assessment score' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(100)
  score?: number;
}

export class IngestEventsRequest {
  @ApiProperty({ type: [EventInput], minItems: 1, maxItems: MAX_BATCH })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH)
  @ValidateNested({ each: true })
  @Type(() => EventInput)
  events: EventInput[];
}

export class IngestEventsResponse {
  @ApiProperty({ description: 'Events stored by this request' }) accepted: number;
  @ApiProperty({ description: 'Events skipped because their id was already stored' }) duplicates: number;
}
