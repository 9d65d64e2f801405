import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CACHE_METADATA_PROPERTY, CacheMetadataResponse } from './dashboard.response.js';

export class HourlyBucketResponse {
  @ApiProperty({ format: 'date-time', description: 'Start of the whole UTC hour (HH:00:00.000Z); the first is since' }) hour: string;
  @ApiProperty() events: number;
}

export class TopContentResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() title: string;
  @ApiProperty() content_type: string;
  @ApiProperty({ description: 'lesson_completed events in the window' }) completions: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Mean score of those completions (two decimals)' }) avg_score: number | null;
}

export class EventUserResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
}

export class EventContentResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() title: string;
}

export class RecentEventResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['login', 'session', 'lesson_completed', 'assessment_submitted'] }) type: string;
  @ApiProperty({ format: 'date-time' }) occurred_at: string;
  @ApiProperty() user: EventUserResponse;
  @ApiProperty({ type: EventContentResponse, nullable: true }) content: EventContentResponse | null;
}

export class ActivityResponse {
  @ApiProperty({ format: 'uuid' }) organization_id: string;
  @ApiProperty() window_hours: number;
  @ApiProperty({ format: 'date-time', description: 'Start of the first hourly bucket: the whole UTC hour window_hours − 1 hours before the current one' }) since: string;
  @ApiProperty() recent_lessons: number;
  @ApiProperty() recent_assessments: number;
  @ApiProperty() recent_sessions: number;
  @ApiProperty() new_users: number;
  @ApiProperty({ description: 'Content published in the window and not deleted' }) content_published: number;
  @ApiProperty({ type: [HourlyBucketResponse], description: 'One bucket per hour of the window, oldest first, zero-filled' }) hourly: HourlyBucketResponse[];
  @ApiProperty({ type: [TopContentResponse], description: 'Up to 5, most lesson completions in the window' }) top_content: TopContentResponse[];
  @ApiProperty({ type: [RecentEventResponse], description: 'Newest first, at most limit' }) recent_events: RecentEventResponse[];
  @ApiPropertyOptional(CACHE_METADATA_PROPERTY) cache_metadata?: CacheMetadataResponse;
}
