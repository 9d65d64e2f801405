import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsNumber, IsOptional, IsString, IsUUID, Length, Max, Min, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { EVENT_TYPES, type EventType } from '../../database/entities/activity-event.entity.js';
import { IsNotFuture, trimText } from '../../common/validators.js';

export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
export const MAX_BATCH = 1000;
export const MAX_EXTERNAL_ID = 255;

const given = (value: unknown) => value !== undefined && value !== null;

/** Refuses the field when `other` is given too (present = false) or when it is missing (present = true). */
const WithField = (other: string, present: boolean, message: string) =>
  ValidateBy({
    name: present ? 'requiresField' : 'excludesField',
    validator: {
      validate: (_value: unknown, args) => given((args?.object as Record<string, unknown>)[other]) === present,
      defaultMessage: () => message,
    },
  });

export class EventInput {
  @ApiPropertyOptional({ format: 'uuid', description: 'Client-chosen id: a retried batch skips events already stored' })
  @IsOptional()
  @IsUUID()
  id?: string;

  @ApiProperty({ enum: EVENT_TYPES })
  @IsIn(EVENT_TYPES)
  type: EventType;

  @ApiPropertyOptional({ format: 'uuid', description: 'The learner by this service’s id; or name them by user_external_id' })
  @ValidateIf((event: EventInput) => !given(event.user_external_id))
  @IsUUID()
  user_id?: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: MAX_EXTERNAL_ID,
    description: 'The learner by the platform’s own id, instead of user_id (trimmed); an unknown one is created as a student without password',
  })
  @IsOptional()
  @Transform(trimText)
  @IsString()
  @Length(1, MAX_EXTERNAL_ID)
  @WithField('user_id', false, 'give user_id or user_external_id, not both')
  user_external_id?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200, description: 'Name of a learner created by user_external_id (default: the external id)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @WithField('user_external_id', true, 'user_name goes with user_external_id')
  user_name?: string;

  @ApiProperty({ format: 'date-time', description: 'At most 5 minutes in the future' })
  @IsNotFuture(MAX_FUTURE_SKEW_MS)
  occurred_at: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  content_id?: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: MAX_EXTERNAL_ID,
    description: 'The content by the platform’s own id, instead of content_id (trimmed); an unknown one is created as a published lesson',
  })
  @IsOptional()
  @Transform(trimText)
  @IsString()
  @Length(1, MAX_EXTERNAL_ID)
  @WithField('content_id', false, 'give content_id or content_external_id, not both')
  content_external_id?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 300, description: 'Title of content created by content_external_id (default: the external id)' })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  @WithField('content_external_id', true, 'content_title goes with content_external_id')
  content_title?: string;

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
