import type { ContentFigures, EngagementDay, EngagementFigures, SeriesBucket, UserFigures } from './figure-types.js';

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

/**
 * What the rollups hold beyond "now": rows stamped after it (events up to 5 minutes ahead in production, anything
 * when a test pins the clock in the past). Subtracting them makes every figure end at now, as the metric definitions read.
 */
export interface AfterNow {
  /** Events after now, all days. */
  lessons_completed: number;
  assessments: number;
  /** Events after now on today's date. */
  today_lessons_completed: number;
  today_assessments: number;
  today_sessions: number;
  today_session_seconds: number;
  /** Users whose only events today (in the last 7 / 30 days ending today) are after now. */
  today_only_active_users: number;
  w7_only_active_users: number;
  w30_only_active_users: number;
  /** Of the w30 ones, those in the retention cohort (created on a day <= today - 30). */
  w30_only_retained_users: number;
  /** Users with an event after now and none in the last 24 h up to now (last_active_at counts them). */
  last_24h_only_active_users: number;
  /** Users and content created after now on today's date; content after now on any day, live, by status. */
  today_new_users: number;
  today_content_created: number;
  today_content_generated: number;
  today_content_generation_ms: number;
  content_live: number;
  content_published: number;
  content_draft: number;
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
 * How many days before today dashboardFiguresFromRollups reads one by one: the 30-day windows and the retention
 * cohort's day 30, and each trend day's 7-day window. Older days count only through sums over all days up to a day
 * inside that span, so their rows may come folded into one row dated before it.
 */
export function daysReadOneByOne(trendDays: number): number {
  return Math.max(30, trendDays + 5);
}

/**
 * Every dashboard figure from the organization's rollup rows up to today (a few hundred rows at most) and the
 * rolling-24 h active count, with the definitions' windows: "today" and the 7/30 days ending each day are UTC days.
 */
export function dashboardFiguresFromRollups(rows: DailyRollupRow[], activeLast24h: number, late: AfterNow, today: Date, trendDays: number): DashboardFigures {
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
  const sumAll = (pick: (r: DailyRollupRow) => number, until = '9999-12-31') => rows.reduce((total, r) => (r.day <= until ? total + pick(r) : total), 0);
  // Only today's sums see rows after now (offset 0); earlier days and windows ending before today do not.
  const todayOnly = (offset: number, value: number) => (offset === 0 ? value : 0);

  const generated = sumOver(0, 29, (r) => r.content_generated) - late.today_content_generated;
  const sessions = sumOver(0, 6, (r) => r.sessions) - late.today_sessions;
  const users: UserFigures = {
    total_users: sumAll((r) => r.new_users_active),
    new_users_today: (row(0)?.new_users ?? 0) - late.today_new_users,
    created_last_7_days: sumOver(0, 6, (r) => r.new_users) - late.today_new_users,
    created_previous_7_days: sumOver(7, 13, (r) => r.new_users),
    retention_cohort: sumAll((r) => r.new_users, dayKey(dayAt(30))),
    retained: sumAll((r) => r.retained_30d_delta, dayKey(today)) - late.w30_only_retained_users,
    active_last_24h: activeLast24h - late.last_24h_only_active_users,
  };
  const content: ContentFigures = {
    total_content: sumAll((r) => r.content_draft + r.content_published + r.content_archived) - late.content_live,
    published_content: sumAll((r) => r.content_published) - late.content_published,
    draft_content: sumAll((r) => r.content_draft) - late.content_draft,
    content_created_today: (row(0)?.content_created ?? 0) - late.today_content_created,
    avg_generation_ms: generated === 0 ? null : (sumOver(0, 29, (r) => r.content_generation_ms) - late.today_content_generation_ms) / generated,
  };
  const engagement: EngagementFigures = {
    daily_active_users: (row(0)?.daily_active_users ?? 0) - late.today_only_active_users,
    avg_session_seconds: sessions === 0 ? null : (sumOver(0, 6, (r) => r.session_seconds) - late.today_session_seconds) / sessions,
    total_lessons_completed: sumAll((r) => r.lessons_completed) - late.lessons_completed,
    total_assessments: sumAll((r) => r.assessments) - late.assessments,
  };
  const engagementDays: EngagementDay[] = [];
  const trend: TrendBucket[] = [];
  for (let x = trendDays - 1; x >= 0; x--) {
    const until = dayKey(dayAt(x));
    engagementDays.push({
      day: dayAt(x),
      daily_active_users_sum_w7: sumOver(x, x + 6, (r) => r.daily_active_users) - todayOnly(x, late.today_only_active_users),
      // Difference arrays: the distinct count of the window ending X is the sum of the deltas up to X.
      active_users_w7: sumAll((r) => r.active_7d_delta, until) - todayOnly(x, late.w7_only_active_users),
      active_users_w30: sumAll((r) => r.active_30d_delta, until) - todayOnly(x, late.w30_only_active_users),
      sessions_w7: sumOver(x, x + 6, (r) => r.sessions) - todayOnly(x, late.today_sessions),
      session_seconds_w7: sumOver(x, x + 6, (r) => r.session_seconds) - todayOnly(x, late.today_session_seconds),
      lessons_completed_w7: sumOver(x, x + 6, (r) => r.lessons_completed) - todayOnly(x, late.today_lessons_completed),
    });
    const r = row(x);
    trend.push({
      bucket_start: dayAt(x),
      active_users: (r?.daily_active_users ?? 0) - todayOnly(x, late.today_only_active_users),
      new_users: (r?.new_users ?? 0) - todayOnly(x, late.today_new_users),
      content_created: (r?.content_created ?? 0) - todayOnly(x, late.today_content_created),
      lessons_completed: (r?.lessons_completed ?? 0) - todayOnly(x, late.today_lessons_completed),
      assessments_submitted: (r?.assessments ?? 0) - todayOnly(x, late.today_assessments),
    });
  }
  return { users, content, engagement, engagementDays, trend };
}
