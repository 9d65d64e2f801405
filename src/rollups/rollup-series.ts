import type { SeriesBucket, SeriesWindow } from './figure-types.js';

/** The daily_rollups columns a day bucket of the activity series reads. */
export interface DailySeriesRow {
  day: string;
  new_users: number;
  content_created: number;
  content_generated: number;
  content_generation_ms: number;
  events: number;
  lessons_completed: number;
  assessments: number;
  assessments_scored: number;
  assessment_score_sum: number;
  sessions: number;
  session_seconds: number;
  daily_active_users: number;
}

/** Today's rows stamped after now, which today's bucket (ending at now) leaves out. */
export type DailySeriesLate = Omit<DailySeriesRow, 'day' | 'daily_active_users'> & { only_late_users: number };

const DAY_MS = 86_400_000;

/**
 * Day buckets from the rollups, equal to MetricsRepository.activitySeries over the same window: the last bucket
 * (today) minus what is stamped after now. Averages are quotients of the day's sums, null when nothing was counted.
 */
export function dailySeriesFromRollups(
  rows: DailySeriesRow[],
  published: { day: string; published: number }[],
  late: DailySeriesLate,
  window: SeriesWindow,
): SeriesBucket[] {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const publishedByDay = new Map(published.map((row) => [row.day, row.published]));
  const buckets: SeriesBucket[] = [];
  for (let index = 0; index < window.buckets; index++) {
    const start = new Date(window.since.getTime() + index * DAY_MS);
    const day = start.toISOString().slice(0, 10);
    const row = byDay.get(day);
    const isLast = index === window.buckets - 1;
    const value = (pick: (r: DailySeriesRow | DailySeriesLate) => number) => (row ? pick(row) : 0) - (isLast ? pick(late) : 0);
    const generated = value((r) => r.content_generated);
    const sessions = value((r) => r.sessions);
    const scored = value((r) => r.assessments_scored);
    buckets.push({
      bucket_start: start,
      active_users: (row?.daily_active_users ?? 0) - (isLast ? late.only_late_users : 0),
      new_users: value((r) => r.new_users),
      content_created: value((r) => r.content_created),
      content_published: publishedByDay.get(day) ?? 0,
      avg_generation_seconds: generated === 0 ? null : value((r) => r.content_generation_ms) / generated / 1000,
      events: value((r) => r.events),
      sessions,
      avg_session_minutes: sessions === 0 ? null : value((r) => r.session_seconds) / sessions / 60,
      lessons_completed: value((r) => r.lessons_completed),
      assessments_submitted: value((r) => r.assessments),
      avg_score: scored === 0 ? null : value((r) => r.assessment_score_sum) / scored,
    });
  }
  return buckets;
}
