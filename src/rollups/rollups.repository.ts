import { Injectable } from '@nestjs/common';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { SeriesBucket, SeriesWindow } from './figure-types.js';
import { AfterNow, DailyRollupRow, DashboardFigures, dashboardFiguresFromRollups, daysReadOneByOne } from './rollup-figures.js';
import { DailySeriesLate, DailySeriesRow, dailySeriesFromRollups } from './rollup-series.js';
import { rebuildOrganizationRollups } from './rollup-rebuild.js';

/** The daily_rollups columns the dashboard folds (DailyRollupRow without its day). */
const ROLLUP_FIELDS = [
  'new_users', 'new_users_active', 'content_created', 'content_generated', 'content_generation_ms', 'content_draft', 'content_published',
  'content_archived', 'lessons_completed', 'assessments', 'sessions', 'session_seconds', 'daily_active_users', 'active_7d_delta',
  'active_30d_delta', 'retained_30d_delta',
] as const satisfies readonly Exclude<keyof DailyRollupRow, 'day'>[];
/** One row per day ($2 on); before it one row of sums, dated the day before, since only sums over all days read those days. */
const DASHBOARD_ROLLUPS = `
  SELECT day::text AS day, ${ROLLUP_FIELDS.map((field) => `${field}::float8 AS ${field}`).join(', ')}
    FROM daily_rollups WHERE organization_id = $1 AND day >= $2::date
  UNION ALL
  SELECT ($2::date - 1)::text, ${ROLLUP_FIELDS.map((field) => `sum(${field})::float8`).join(', ')}
    FROM daily_rollups WHERE organization_id = $1 AND day < $2::date HAVING count(*) > 0
  ORDER BY day`;

/**
 * The rows stamped after now ($2), by index ranges that are empty or nearly so in production (events may be
 * up to 5 minutes ahead). $3 is today's date, $4 its start, $5 now − 24 h. For users active after now today, the
 * question is whether anything before now already counted them: today, in the last 7 or 30 days.
 */
const AFTER_NOW = `
  WITH late_events AS (
    SELECT user_id, type, duration_seconds, (occurred_at AT TIME ZONE 'UTC')::date AS day
      FROM activity_events WHERE organization_id = $1 AND occurred_at > $2
  ), late_users AS (
    SELECT l.user_id, bool_or(l.day = $3::date) AS today, (u.created_at AT TIME ZONE 'UTC')::date AS created_day
      FROM late_events l JOIN users u ON u.organization_id = $1 AND u.id = l.user_id
     GROUP BY l.user_id, u.created_at
  ), recent_late_users AS (
    -- One scan of the last 24 h (skipped when nothing is late) instead of a per-user index: which late users were
    -- already active before now, in the last 24 h and today ($4 is after $5, so today lies inside the 24 h).
    SELECT e.user_id, bool_or(e.occurred_at >= $4) AS today
      FROM activity_events e
     WHERE e.organization_id = $1 AND e.occurred_at > $5 AND e.occurred_at <= $2
       AND EXISTS (SELECT 1 FROM late_events) AND e.user_id IN (SELECT user_id FROM late_users)
     GROUP BY e.user_id
  ), late_user_history AS (
    SELECT l.today, l.created_day, r.user_id IS NOT NULL AS active_last_24h, COALESCE(r.today, false) AS active_today,
           (SELECT active_day_before(u.active_from, u.active_days, $3::date) FROM users u WHERE u.organization_id = $1 AND u.id = l.user_id) AS previous_day
      FROM late_users l LEFT JOIN recent_late_users r ON r.user_id = l.user_id
  ), late_content AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status, deleted_at, generation_time_ms
      FROM educational_content WHERE organization_id = $1 AND created_at > $2
  )
  SELECT (SELECT count(*) FROM late_events WHERE type = 'lesson_completed')::int AS lessons_completed,
         (SELECT count(*) FROM late_events WHERE type = 'assessment_submitted')::int AS assessments,
         (SELECT count(*) FROM late_events WHERE day = $3::date AND type = 'lesson_completed')::int AS today_lessons_completed,
         (SELECT count(*) FROM late_events WHERE day = $3::date AND type = 'assessment_submitted')::int AS today_assessments,
         (SELECT count(*) FROM late_events WHERE day = $3::date AND type = 'session')::int AS today_sessions,
         (SELECT COALESCE(sum(duration_seconds), 0) FROM late_events WHERE day = $3::date AND type = 'session')::float8 AS today_session_seconds,
         (SELECT count(*) FROM late_user_history WHERE today AND NOT active_today)::int AS today_only_active_users,
         (SELECT count(*) FROM late_user_history WHERE today AND NOT active_today AND (previous_day IS NULL OR previous_day < $3::date - 6))::int AS w7_only_active_users,
         (SELECT count(*) FROM late_user_history WHERE today AND NOT active_today AND (previous_day IS NULL OR previous_day < $3::date - 29))::int AS w30_only_active_users,
         (SELECT count(*) FROM late_user_history
           WHERE today AND NOT active_today AND (previous_day IS NULL OR previous_day < $3::date - 29) AND created_day <= $3::date - 30)::int AS w30_only_retained_users,
         (SELECT count(*) FROM late_user_history WHERE NOT active_last_24h)::int AS last_24h_only_active_users,
         (SELECT count(*) FROM users WHERE organization_id = $1 AND created_at > $2 AND created_at < $4 + interval '24 hours')::int AS today_new_users,
         (SELECT count(*) FROM late_content WHERE day = $3::date)::int AS today_content_created,
         (SELECT count(generation_time_ms) FROM late_content WHERE day = $3::date)::int AS today_content_generated,
         (SELECT COALESCE(sum(generation_time_ms), 0) FROM late_content WHERE day = $3::date)::float8 AS today_content_generation_ms,
         (SELECT count(*) FROM late_content WHERE deleted_at IS NULL)::int AS content_live,
         (SELECT count(*) FROM late_content WHERE deleted_at IS NULL AND status = 'published')::int AS content_published,
         (SELECT count(*) FROM late_content WHERE deleted_at IS NULL AND status = 'draft')::int AS content_draft`;

/** Whether any event, user or content row of the organization ($1) is stamped after now ($4): what AFTER_NOW reads. */
const ANYTHING_AFTER_NOW = `(EXISTS (SELECT 1 FROM activity_events WHERE organization_id = $1 AND occurred_at > $4)
    OR EXISTS (SELECT 1 FROM users WHERE organization_id = $1 AND created_at > $4)
    OR EXISTS (SELECT 1 FROM educational_content WHERE organization_id = $1 AND created_at > $4))`;

/** AFTER_NOW's answer when nothing is stamped after now. */
const NOTHING_AFTER_NOW: AfterNow = Object.freeze({
  lessons_completed: 0,
  assessments: 0,
  today_lessons_completed: 0,
  today_assessments: 0,
  today_sessions: 0,
  today_session_seconds: 0,
  today_only_active_users: 0,
  w7_only_active_users: 0,
  w30_only_active_users: 0,
  w30_only_retained_users: 0,
  last_24h_only_active_users: 0,
  today_new_users: 0,
  today_content_created: 0,
  today_content_generated: 0,
  today_content_generation_ms: 0,
  content_live: 0,
  content_published: 0,
  content_draft: 0,
});

/** The dashboard's figures from the per-day rollups: two index range reads, never a scan of raw events. */
@Injectable()
export class RollupsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  dashboardFigures(organizationId: string, now: Date, today: Date, trendDays: number): Promise<DashboardFigures> {
    return this.tx.run(
      organizationId,
      async (manager) => {
        // A year of rows (the xl profile) parsed by the driver was the largest part of the service's CPU for an uncached dashboard.
        const firstDayReadAlone = new Date(today.getTime() - daysReadOneByOne(trendDays) * 86_400_000).toISOString().slice(0, 10);
        const rows: DailyRollupRow[] = await manager.query(DASHBOARD_ROLLUPS, [organizationId, firstDayReadAlone]);
        // Users whose last_active_at (their latest event) is after now − 24 h: whole minutes from last_active_minutes;
        // the partial first minute from that minute's events, since a user's last_active_at is always one of its events' times.
        const since = now.getTime() - 86_400_000;
        const firstWholeMinute = new Date(Math.floor(since / 60_000) * 60_000 + 60_000);
        const [active]: { count: number; anything_late: boolean }[] = await manager.query(
          `SELECT ((SELECT COALESCE(sum(users), 0) FROM last_active_minutes WHERE organization_id = $1 AND minute >= $3)
                 -- The minute's users as one array probed in a single key scan, never a join the planner could turn into a
                 -- scan of every user (nothing indexes last_active_at, so that ingestion's updates stay HOT).
                 + (SELECT count(*) FROM users WHERE organization_id = $1 AND last_active_at > $2 AND last_active_at < $3
                       AND id = ANY (ARRAY(SELECT DISTINCT user_id FROM activity_events WHERE organization_id = $1 AND occurred_at > $2 AND occurred_at < $3))))::int AS count,
                  ${ANYTHING_AFTER_NOW} AS anything_late`,
          [organizationId, new Date(since), firstWholeMinute, now],
        );
        // Every figure of AFTER_NOW counts rows stamped after now; without any, all are zero, and its planning alone
        // (a dozen subqueries over the event partitions) was about half of an uncached dashboard's database time.
        const [late]: AfterNow[] = active.anything_late
          ? await manager.query(AFTER_NOW, [organizationId, now, today.toISOString().slice(0, 10), today, new Date(now.getTime() - 86_400_000)])
          : [NOTHING_AFTER_NOW];
        return dashboardFiguresFromRollups(rows, active.count, late, today, trendDays);
      },
      { readOnly: true },
    );
  }

  /**
   * The per-day activity series (statistics and exports over 7, 30 and 90 days) from the rollups: one index range of
   * at most 90 rows, whatever the number of raw events. Only two things are read elsewhere: content published per
   * day (published_at is no rollup dimension; an organization's content is thousands of rows, not millions), and
   * what is stamped after now today (usually nothing), which the figures up to now leave out.
   */
  dailySeries(organizationId: string, window: SeriesWindow): Promise<SeriesBucket[]> {
    if (window.bucketSeconds !== 86_400) throw new RangeError('dailySeries reads day buckets');
    const tomorrow = new Date(window.since.getTime() + window.buckets * 86_400_000);
    const firstDay = window.since.toISOString().slice(0, 10);
    const lastDay = new Date(tomorrow.getTime() - 86_400_000).toISOString().slice(0, 10);
    return this.tx.run(
      organizationId,
      async (manager) => {
        const rows: DailySeriesRow[] = await manager.query(
          `SELECT day::text AS day, new_users, content_created, content_generated, content_generation_ms::float8 AS content_generation_ms, events,
                  lessons_completed, assessments, assessments_scored, assessment_score_sum, sessions, session_seconds::float8 AS session_seconds, daily_active_users
             FROM daily_rollups WHERE organization_id = $1 AND day >= $2::date AND day <= $3::date`,
          [organizationId, firstDay, lastDay],
        );
        const published: { day: string; published: number }[] = await manager.query(
          `SELECT (published_at AT TIME ZONE 'UTC')::date::text AS day, count(*)::int AS published
             FROM educational_content
            WHERE organization_id = $1 AND deleted_at IS NULL AND published_at >= $2 AND published_at <= $3
            GROUP BY 1`,
          [organizationId, window.since, window.now],
        );
        // $2 now, $3 the start of the next day, $4 the start of today.
        const [late]: DailySeriesLate[] = await manager.query(
          `WITH late_events AS (
             SELECT user_id, type, duration_seconds, score FROM activity_events WHERE organization_id = $1 AND occurred_at > $2 AND occurred_at < $3
           ), late_content AS (
             SELECT generation_time_ms FROM educational_content WHERE organization_id = $1 AND created_at > $2 AND created_at < $3
           )
           SELECT count(*)::int AS events,
                  count(*) FILTER (WHERE type = 'session')::int AS sessions,
                  COALESCE(sum(duration_seconds) FILTER (WHERE type = 'session'), 0)::float8 AS session_seconds,
                  count(*) FILTER (WHERE type = 'lesson_completed')::int AS lessons_completed,
                  count(*) FILTER (WHERE type = 'assessment_submitted')::int AS assessments,
                  count(score) FILTER (WHERE type = 'assessment_submitted')::int AS assessments_scored,
                  COALESCE(sum(score) FILTER (WHERE type = 'assessment_submitted'), 0)::float8 AS assessment_score_sum,
                  -- Late users with no event today up to now: today's distinct count holds them only because of the late events.
                  (SELECT count(DISTINCT l.user_id) FROM late_events l
                    WHERE l.user_id NOT IN (SELECT e.user_id FROM activity_events e WHERE e.organization_id = $1 AND e.occurred_at >= $4 AND e.occurred_at <= $2))::int AS only_late_users,
                  (SELECT count(*) FROM users WHERE organization_id = $1 AND created_at > $2 AND created_at < $3)::int AS new_users,
                  (SELECT count(*) FROM late_content)::int AS content_created,
                  (SELECT count(generation_time_ms) FROM late_content)::int AS content_generated,
                  (SELECT COALESCE(sum(generation_time_ms), 0) FROM late_content)::float8 AS content_generation_ms
             FROM late_events`,
          [organizationId, window.now, tomorrow, new Date(tomorrow.getTime() - 86_400_000)],
        );
        return dailySeriesFromRollups(rows, published, late, window);
      },
      { readOnly: true },
    );
  }

  /** Recomputes the organization's rollups from the raw tables (repair tool). */
  rebuild(organizationId: string): Promise<void> {
    return this.tx.run(organizationId, (manager) => rebuildOrganizationRollups(manager, organizationId));
  }
}
