import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PERIODS } from '../periods.js';
import { CACHE_METADATA_PROPERTY, CacheMetadataResponse } from './dashboard.response.js';

const nullable = { type: Number, nullable: true };

export class SeriesSummaryResponse {
  @ApiProperty({ description: 'Points with a value (null points skipped)' }) count: number;
  @ApiProperty() sum: number;
  @ApiProperty(nullable) min: number | null;
  @ApiProperty(nullable) max: number | null;
  @ApiProperty(nullable) mean: number | null;
  @ApiProperty({ ...nullable, description: 'Linear-interpolation percentile 50' }) median: number | null;
  @ApiProperty({ ...nullable, description: 'Linear interpolation between closest ranks (R-7)' }) p95: number | null;
  @ApiProperty(nullable) p99: number | null;
  @ApiProperty({ ...nullable, description: 'Population standard deviation' }) std_dev: number | null;
  @ApiProperty({ ...nullable, description: 'Least-squares slope per bucket' }) slope_per_bucket: number | null;
  @ApiProperty({ ...nullable, description: 'Second half against first half, %; null when the first half is 0' }) change_pct: number | null;
}

export class SeriesResponse {
  @ApiProperty({
    description: '[bucket_start, value] pairs, zero-filled (avg_score is null in a bucket without assessments)',
    type: 'array',
    items: { type: 'array', items: { oneOf: [{ type: 'string', format: 'date-time' }, { type: 'number', nullable: true }] } },
    example: [['2026-11-20T00:00:00.000Z', 3]],
  })
  points: [string, number | null][];
  @ApiProperty() summary: SeriesSummaryResponse;
}

export class StatisticsSeriesResponse {
  @ApiProperty() daily_active_users: SeriesResponse;
  @ApiProperty() new_users: SeriesResponse;
  @ApiProperty() content_created: SeriesResponse;
  @ApiProperty() lessons_completed: SeriesResponse;
  @ApiProperty() assessments_submitted: SeriesResponse;
  @ApiProperty() avg_score: SeriesResponse;
}

export class ApiPerformanceResponse {
  @ApiProperty({ ...nullable, description: 'Nearest-rank, last 5 minutes' }) p50_ms: number | null;
  @ApiProperty(nullable) p95_ms: number | null;
  @ApiProperty(nullable) p99_ms: number | null;
  @ApiProperty({ ...nullable, description: '% of responses ≥ 500' }) error_rate: number | null;
  @ApiProperty() requests: number;
}

export class StatisticsResponse {
  @ApiProperty({ enum: PERIODS }) period: string;
  @ApiProperty({ enum: ['hour', 'day'] }) bucket: 'hour' | 'day';
  @ApiProperty({ format: 'date-time', description: 'Start of the first bucket' }) since: string;
  @ApiProperty() series: StatisticsSeriesResponse;
  @ApiProperty() api_performance: ApiPerformanceResponse;
  @ApiProperty({ format: 'date-time' }) generated_at: string;
  @ApiPropertyOptional(CACHE_METADATA_PROPERTY) cache_metadata?: CacheMetadataResponse;
}
