import type { MetricType } from '../dto/metrics-query.dto.js';
import type { SeriesBucket } from '../../rollups/figure-types.js';
import type { SeriesSummary } from '../statistics.js';

/** The columns each metric type contributes, by the activity-series field that fills them. */
export const EXPORT_COLUMNS: Record<Exclude<MetricType, 'system'>, { name: string; field: keyof SeriesBucket }[]> = {
  users: [
    { name: 'active_users', field: 'active_users' },
    { name: 'new_users', field: 'new_users' },
  ],
  content: [
    { name: 'content_created', field: 'content_created' },
    { name: 'content_published', field: 'content_published' },
    { name: 'avg_generation_time_s', field: 'avg_generation_seconds' },
  ],
  engagement: [
    { name: 'sessions', field: 'sessions' },
    { name: 'avg_session_minutes', field: 'avg_session_minutes' },
    { name: 'lessons_completed', field: 'lessons_completed' },
    { name: 'assessments_submitted', field: 'assessments_submitted' },
    { name: 'avg_score', field: 'avg_score' },
  ],
};

export const SUMMARY_STATISTICS: (keyof SeriesSummary)[] = [
  'count',
  'sum',
  'min',
  'max',
  'mean',
  'median',
  'p95',
  'p99',
  'std_dev',
  'slope_per_bucket',
  'change_pct',
];

/** Everything an export file holds, whatever its format. */
export interface ExportTable {
  organization: { id: string; name: string; slug: string };
  date_range: string;
  bucket: 'hour' | 'day';
  since: string;
  generated_at: string;
  columns: string[];
  rows: { bucket_start: string; values: (number | null)[] }[];
  summary: Record<string, SeriesSummary>;
  /** Present when "system" was chosen: the service's own figures now (they have no per-bucket history). */
  system: Record<string, number | null> | null;
}
