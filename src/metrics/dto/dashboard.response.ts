import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const nullableNumber = (description: string) => ({ type: Number, nullable: true, description });

export class UserMetricsResponse {
  @ApiProperty({ description: 'Users with is_active' }) total_users: number;
  @ApiProperty({ description: 'Distinct users with an event in the last 24 h' }) active_users: number;
  @ApiProperty({ description: 'Users created today (UTC)' }) new_users_today: number;
  @ApiProperty(nullableNumber('% change of users created in the last 7 days against the 7 days before; null when that is 0')) growth_rate: number | null;
  @ApiProperty(nullableNumber('% of users created before the last 30 days with an event in them; null when there are none')) user_retention: number | null;
}

export class ContentMetricsResponse {
  @ApiProperty({ description: 'Content not deleted' }) total_content: number;
  @ApiProperty() published_content: number;
  @ApiProperty() draft_content: number;
  @ApiProperty({ description: 'Content created today (UTC), deleted since or not' }) content_created_today: number;
  @ApiProperty(nullableNumber('Mean generation time in seconds of content created in the last 30 days that has one')) avg_generation_time: number | null;
}

export class EngagementMetricsResponse {
  @ApiProperty({ description: 'Distinct users with an event today (UTC)' }) daily_active_users: number;
  @ApiProperty(nullableNumber('Mean session length in minutes over the last 7 days')) avg_session_duration: number | null;
  @ApiProperty() total_lessons_completed: number;
  @ApiProperty() total_assessments: number;
  @ApiProperty({ description: '0–100, one decimal, for today: 100 × (0.5 × S + 0.25 × D + 0.25 × C) with S = (daily active users summed over the last 7 days ÷ 7) ÷ distinct active users of the last 30 days, D = min(1, mean session minutes of the last 7 days ÷ 30), C = min(1, lessons completed in the last 7 days ÷ (3 × distinct active users of the last 7 days)); each part 0 when undefined' }) engagement_score: number;
}

export class SystemMetricsResponse {
  @ApiProperty(nullableNumber('p95 of request durations over the last 5 minutes, ms')) api_response_time: number | null;
  @ApiProperty(nullableNumber('Hits ÷ lookups of metric caches over the last 5 minutes, %')) cache_hit_rate: number | null;
  @ApiProperty({ description: 'Open database connections of this instance' }) database_connections: number;
  @ApiProperty(nullableNumber('Redis used_memory in MB; null without Redis')) redis_memory_usage: number | null;
  @ApiProperty(nullableNumber('% of responses with status ≥ 500 over the last 5 minutes')) error_rate: number | null;
}

export class TrendsResponse {
  @ApiProperty({ type: [String], example: ['2026-11-14', '2026-11-20'], description: '7 UTC days, oldest first, today last' }) days: string[];
  @ApiProperty({ type: [Number] }) daily_active_users: number[];
  @ApiProperty({ type: [Number] }) new_users: number[];
  @ApiProperty({ type: [Number] }) content_created: number[];
  @ApiProperty({ type: [Number] }) lessons_completed: number[];
  @ApiProperty({ type: [Number] }) assessments_submitted: number[];
  @ApiProperty({ type: [Number] }) engagement_score: number[];
}

export class CacheMetadataResponse {
  @ApiProperty({ format: 'date-time', description: 'When the figures were computed' }) generated_at: string;
  @ApiProperty({ description: 'Seconds' }) cache_ttl: number;
  @ApiProperty() cache_key: string;
  @ApiProperty({ description: 'True exactly when the response came from the cache' }) cache_hit: boolean;
}

export const CACHE_METADATA_PROPERTY = { type: CacheMetadataResponse, description: 'Attached by the metrics cache' };

export class DashboardResponse {
  @ApiProperty({ format: 'date-time', description: 'The instant the figures refer to' }) timestamp: string;
  @ApiProperty({ format: 'uuid' }) organization_id: string;
  @ApiProperty() user_metrics: UserMetricsResponse;
  @ApiProperty() content_metrics: ContentMetricsResponse;
  @ApiProperty() engagement_metrics: EngagementMetricsResponse;
  @ApiProperty() system_metrics: SystemMetricsResponse;
  @ApiProperty() trends: TrendsResponse;
  @ApiPropertyOptional(CACHE_METADATA_PROPERTY) cache_metadata?: CacheMetadataResponse;
}
