import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { CACHE_METADATA_PROPERTY, CacheMetadataResponse } from '../../metrics/dto/dashboard.response.js';

export const INSIGHTS_PERIODS = ['30d', '90d'] as const;
export type InsightsPeriod = (typeof INSIGHTS_PERIODS)[number];

export class InsightsQuery {
  @ApiPropertyOptional({ enum: INSIGHTS_PERIODS, default: '30d', description: 'The UTC days ending today whose days are judged (each one against the 4 weeks before it)' })
  @IsOptional()
  @IsIn(INSIGHTS_PERIODS, { message: `period must be one of: ${INSIGHTS_PERIODS.join(', ')}` })
  period: InsightsPeriod = '30d';
}

export class AnomalyResponse {
  @ApiProperty({ format: 'date', example: '2026-11-20', description: 'The UTC day' }) day: string;
  @ApiProperty({ description: 'The series’ value that day' }) value: number;
  @ApiProperty({ description: 'Median of the baseline: the same weekday of the previous 4 weeks, or the previous 28 days' }) expected: number;
  @ApiProperty({ description: 'Robust z-score (value − expected) / (1.4826 × MAD), signed; anomalous beyond ±3.5' }) score: number;
  @ApiProperty({ enum: ['up', 'down'] }) direction: 'up' | 'down';
}

export class ForecastResponse {
  @ApiProperty({
    enum: ['holt_winters_additive', 'seasonal_naive', 'insufficient_history'],
    description: 'Holt-Winters from 21 days of history, seasonal naive from 7, no points below 7',
  })
  method: 'holt_winters_additive' | 'seasonal_naive' | 'insufficient_history';

  @ApiProperty({
    type: 'object',
    nullable: true,
    properties: { alpha: { type: 'number', description: 'Level smoothing' }, beta: { type: 'number', description: 'Trend smoothing' }, gamma: { type: 'number', description: 'Season smoothing' } },
    required: ['alpha', 'beta', 'gamma'],
    description: 'The smoothing parameters chosen by the grid search (Holt-Winters only, else null); all three are always present',
  })
  parameters: { alpha: number; beta: number; gamma: number } | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Standard deviation of the one-step in-sample errors' })
  sigma: number | null;

  @ApiProperty({
    description: '[day, value, low, high] for today and the 6 days after it; low and high bound the 80 % interval',
    type: 'array',
    items: {
      type: 'array',
      minItems: 4,
      maxItems: 4,
      items: { oneOf: [{ type: 'string', format: 'date' }, { type: 'number' }] },
    },
    example: [['2026-11-21', 12.5, 9.1, 15.9]],
  })
  points: [string, number, number, number][];
}

export class SeriesInsightsResponse {
  @ApiProperty({ type: [AnomalyResponse], description: 'Anomalous days of the period, oldest first (today is not judged)' }) anomalies: AnomalyResponse[];
  @ApiProperty() forecast: ForecastResponse;
}

export class InsightsSeriesResponse {
  @ApiProperty() daily_active_users: SeriesInsightsResponse;
  @ApiProperty() new_users: SeriesInsightsResponse;
  @ApiProperty() content_created: SeriesInsightsResponse;
  @ApiProperty() lessons_completed: SeriesInsightsResponse;
  @ApiProperty() assessments_submitted: SeriesInsightsResponse;
  @ApiProperty() avg_score: SeriesInsightsResponse;
}

export class InsightsResponse {
  @ApiProperty({ enum: INSIGHTS_PERIODS }) period: InsightsPeriod;
  @ApiProperty({ format: 'date-time', description: 'Start of the first judged day' }) since: string;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Start of the first day before today with any data within the period and the 28 days before it; null when there is none',
  })
  history_since: string | null;
  @ApiProperty() series: InsightsSeriesResponse;
  @ApiProperty({ format: 'date-time' }) generated_at: string;
  @ApiPropertyOptional(CACHE_METADATA_PROPERTY) cache_metadata?: CacheMetadataResponse;
}
