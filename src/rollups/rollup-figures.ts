import type { ContentFigures, EngagementDay, EngagementFigures, SeriesBucket, UserFigures } from '../metrics/metrics.repository.js';

/** One daily_rollups row as read (counts as numbers; see migrations/1764200000000-rollups.ts). */
export interface DailyRollupRow {
  day: string;
  new_users: number;
  new_users_active: number;
  content_created: number;
  content_generated: number;
  content_generation_ms: number;
  content_draft: number;
  content_published: number;
  content_archived: number;
  lessons_completed: number;
  assessments: number;
  sessions: number;
  session_seconds: number;
  daily_active_users: number;
  active_7d_delta: number;
  active_30d_delta: number;
  retained_30d_delta: number;
}

export type TrendBucket = Pick<SeriesBucket, 'bucket_start' | 'active_users' | 'new_users' | 'content_created' | 'lessons_completed' | 'assessments_submitted'>;

/** The dashboard's figure families, in the shapes of MetricsRepository's raw-SQL methods. */
export interface DashboardFigures {
  users: UserFigures;
  content: ContentFigures;
  engagement: EngagementFigures;
  engagementDays: EngagementDay[];
  trend: TrendBucket[];
}

const DAY_MS = 86_400_000;

function dayKey(day: Date): string {
  return day.toISOString().slice(0, 10);
}

/**
 * Every dashboard figure from the organization's rollup rows up to today (a few hundred rows at most) and the
 * rolling-24 h active count, with SPEC §6's windows: "today" and the 7/30 days ending each day are UTC days.
 */
export function dashboardFiguresFromRollups(rows: DailyRollupRow[], activeLast24h: number, today: Date, trendDays: number): DashboardFigures {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const dayAt = (offset: number) => new Date(today.getTime() - offset * DAY_MS);
  const row = (offset: number) => byDay.get(dayKey(dayAt(offset)));
  const sumOver = (from: number, to: number, pick: (r: DailyRollupRow) => number) => {
    let total = 0;
    for (let offset = from; offset <= to; offset++) {
      const r = row(offset);
      if (r) total += pick(r);
    }
    return total;
  };
  const sumAll = (pick: (r: DailyRollupRow) => number, until = dayKey(today)) => rows.reduce((total, r) => (r.day <= until ? total + pick(r) : total), 0);

  const generated = sumOver(0, 29, (r) => r.content_generated);
  const sessions = sumOver(0, 6, (r) => r.sessions);
  const users: UserFigures = {
    total_users: sumAll((r) => r.new_users_active),
    new_users_today: row(0)?.new_users ?? 0,
    created_last_7_days: sumOver(0, 6, (r) => r.new_users),
    created_previous_7_days: sumOver(7, 13, (r) => r.new_users),
    retention_cohort: sumAll((r) => r.new_users, dayKey(dayAt(30))),
    retained: sumAll((r) => r.retained_30d_delta),
    active_last_24h: activeLast24h,
  };
  const content: ContentFigures = {
    total_content: sumAll((r) => r.content_draft + r.content_published + r.content_archived),
    published_content: sumAll((r) => r.content_published),
    draft_content: sumAll((r) => r.content_draft),
    content_created_today: row(0)?.content_created ?? 0,
    avg_generation_ms: generated === 0 ? null : sumOver(0, 29, (r) => r.content_generation_ms) / generated,
  };
  const engagement: EngagementFigures = {
    daily_active_users: row(0)?.daily_active_users ?? 0,
    avg_session_seconds: sessions === 0 ? null : sumOver(0, 6, (r) => r.session_seconds) / sessions,
    total_lessons_completed: sumAll((r) => r.lessons_completed),
    total_assessments: sumAll((r) => r.assessments),
  };
  const engagementDays: EngagementDay[] = [];
  const trend: TrendBucket[] = [];
  for (let x = trendDays - 1; x >= 0; x--) {
    const until = dayKey(dayAt(x));
    engagementDays.push({
      day: dayAt(x),
      daily_active_users_sum_w7: sumOver(x, x + 6, (r) => r.daily_active_users),
      // Difference arrays: the distinct count of the window ending X is the sum of the deltas up to X.
      active_users_w7: sumAll((r) => r.active_7d_delta, until),
      active_users_w30: sumAll((r) => r.active_30d_delta, until),
      sessions_w7: sumOver(x, x + 6, (r) => r.sessions),
      session_seconds_w7: sumOver(x, x + 6, (r) => r.session_seconds),
      lessons_completed_w7: sumOver(x, x + 6, (r) => r.lessons_completed),
    });
    const r = row(x);
    trend.push({
      bucket_start: dayAt(x),
      active_users: r?.daily_active_users ?? 0,
      new_users: r?.new_users ?? 0,
      content_created: r?.content_created ?? 0,
      lessons_completed: r?.lessons_completed ?? 0,
      assessments_submitted: r?.assessments ?? 0,
    });
  }
  return { users, content, engagement, engagementDays, trend };
}
