import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, registerDecorator } from 'class-validator';
import { PERIODS, type Period } from '../periods.js';

export const EXPORT_FORMATS = ['json', 'csv', 'xlsx', 'excel'] as const;
export type ExportFormatName = (typeof EXPORT_FORMATS)[number];
export const METRIC_TYPES = ['users', 'content', 'engagement', 'system'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];
export const DEFAULT_METRIC_TYPES: MetricType[] = ['users', 'content', 'engagement'];

// Only plain decimal integers become numbers: "0x10", "1e2" or " 5" stay text and fail validation.
const decimalInteger = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value);

const oneOf = (field: string, values: readonly string[]) => ({ message: `${field} must be one of: ${values.join(', ')}` });

/** One error per field naming the allowed range, whatever is wrong with the value (text, fraction, out of range). */
function IsIntegerBetween(min: number, max: number) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isIntegerBetween',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max,
        defaultMessage: () => `${propertyName} must be an integer from ${min} to ${max}`,
      },
    });
}

/** A non-empty array of distinct allowed values, with one error naming them whatever is wrong. */
function IsSubsetOf(allowed: readonly string[]) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isSubsetOf',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) =>
          Array.isArray(value) && value.length > 0 && new Set(value).size === value.length && value.every((item) => allowed.includes(item as string)),
        defaultMessage: () => `${propertyName} must be a non-empty array of distinct values from: ${allowed.join(', ')}`,
      },
    });
}

export class DashboardQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false', description: 'true recomputes and replaces the cached result' })
  @IsOptional()
  @IsIn(['true', 'false'], oneOf('force_refresh', ['true', 'false']))
  force_refresh?: 'true' | 'false';
}

export class ActivityQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 168,
    default: 24,
    description: 'Window in whole UTC hours: the hours − 1 whole hours before the current one, plus the current hour so far',
  })
  @IsOptional()
  @Transform(decimalInteger)
  @IsIntegerBetween(1, 168)
  hours = 24;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'At most this many recent_events' })
  @IsOptional()
  @Transform(decimalInteger)
  @IsIntegerBetween(1, 100)
  limit = 20;
}

export class StatisticsQuery {
  @ApiPropertyOptional({ enum: PERIODS, default: '7d', description: '24h: 24 whole UTC hours, the current one last; otherwise that many UTC days ending today' })
  @IsOptional()
  @IsIn(PERIODS, oneOf('period', PERIODS))
  period: Period = '7d';
}

export class ExportRequest {
  @ApiProperty({ enum: EXPORT_FORMATS, description: '"excel" is the same as "xlsx"' })
  @IsIn(EXPORT_FORMATS, oneOf('format', EXPORT_FORMATS))
  format: ExportFormatName;

  @ApiProperty({ enum: PERIODS, description: 'One row per hour for 24h, per UTC day otherwise' })
  @IsIn(PERIODS, oneOf('date_range', PERIODS))
  date_range: Period;

  @ApiPropertyOptional({ enum: METRIC_TYPES, isArray: true, uniqueItems: true, minItems: 1, default: DEFAULT_METRIC_TYPES })
  @IsOptional()
  @IsSubsetOf(METRIC_TYPES)
  metric_types?: MetricType[];
}
