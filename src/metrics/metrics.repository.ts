import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TenantTransactions } from '../database/tenant-transactions.js';
import type { ContentFigures, EngagementDay, EngagementFigures, SeriesBucket, SeriesWindow, UserFigures } from '../rollups/figure-types.js';

/**
 * The raw-SQL figures of the dashboard, one method per figure family, each in its own read-only tenant
 * transaction so that the service may run them concurrently. "now" is always a parameter (the
 * injected Clock), never SQL now(); windows end at now. These queries are the correctness baseline
 * for any faster (rollup) implementation.
 */

export interface WindowCounts {
  lessons_completed: number;
  assessments_submitted: number;
  sessions: number;
  new_users: number;
  content_published: number;
}

export interface TopContentRow {
  id: string;
  title: string;
  content_type: string;
  completions: number;
  avg_score: number | null;
}

export interface RecentEventRow {
  id: string;
  type: string;
  occurred_at: Date;
  user_id: string;
  user_name: string;
  content_id: string | null;
  content_title: string | null;
}

// Fixed 24-hour days: UTC calendar days whatever the session's time zone (no DST arithmetic).
const DAY = "interval '24 hours'";

@Injectable()
export class MetricsRepository {
  constructor(private readonly tx: TenantTransactions) {}

  /** total_users, new_users_today, growth_rate's two weeks, user_retention's cohort, active_users (24 h). */
  userFigures(organizationId: string, now: Date, today: Date): Promise<UserFigures> {
    return this.one(
      organizationId,
      `SELECT count(*) FILTER (WHERE u.is_active)::int AS total_users,
              count(*) FILTER (WHERE u.created_at >= $3 AND u.created_at <= $2)::int AS new_users_today,
              count(*) FILTER (WHERE u.created_at >= $3 - 6 * ${DAY} AND u.created_at <= $2)::int AS created_last_7_days,
              count(*) FILTER (WHERE u.created_at >= $3 - 13 * ${DAY} AND u.created_at < $3 - 6 * ${DAY})::int AS created_previous_7_days,
              count(*) FILTER (WHERE u.created_at < $3 - 29 * ${DAY})::int AS retention_cohort,
              count(*) FILTER (WHERE u.created_at < $3 - 29 * ${DAY} AND active.user_id IS NOT NULL)::int AS retained,
              (SELECT count(DISTINCT e.user_id) FROM activity_events e
                WHERE e.organization_id = $1 AND e.occurred_at > $2 - interval '24 hours' AND e.occurred_at <= $2)::int AS active_last_24h
         FROM users u
         -- The users active in the 30-day window, from one range scan (nothing indexes events by user).
         LEFT JOIN (SELECT DISTINCT e.user_id FROM activity_events e
                     WHERE e.organization_id = $1 AND e.occurred_at >= $3::timestamptz - 29 * ${DAY} AND e.occurred_at <= $2::timestamptz) active ON active.user_id = u.id
        WHERE u.organization_id = $1`,
      [organizationId, now, today],
    );
  }

  /** Stock counts exclude deleted content; "created" counts and the generation time include it (the creation happened). */
  contentFigures(organizationId: string, now: Date, today: Date): Promise<ContentFigures> {
    return this.one(
      organizationId,
      `SELECT count(*) FILTER (WHERE deleted_at IS NULL AND created_at <= $2)::int AS total_content,
              count(*) FILTER (WHERE deleted_at IS NULL AND created_at <= $2 AND status = 'published')::int AS published_content,
              count(*) FILTER (WHERE deleted_at IS NULL AND created_at <= $2 AND status = 'draft')::int AS draft_content,
              count(*) FILTER (WHERE created_at >= $3 AND created_at <= $2)::int AS content_created_today,
              (avg(generation_time_ms) FILTER (WHERE created_at >= $3 - 29 * ${DAY} AND created_at <= $2))::float8 AS avg_generation_ms
         FROM educational_content
        WHERE organization_id = $1`,
      [organizationId, now, today],
    );
  }

  /** daily_active_users (today), session length over the last 7 days, all-time lesson and assessment counts. */
  engagementFigures(organizationId: string, now: Date, today: Date): Promise<EngagementFigures> {
    return this.one(
      organizationId,
      `SELECT count(DISTINCT user_id) FILTER (WHERE occurred_at >= $3)::int AS daily_active_users,
              (avg(duration_seconds) FILTER (WHERE type = 'session' AND occurred_at >= $3 - 6 * ${DAY}))::float8 AS avg_session_seconds,
              count(*) FILTER (WHERE type = 'lesson_completed')::int AS total_lessons_completed,
              count(*) FILTER (WHERE type = 'assessment_submitted')::int AS total_assessments
         FROM activity_events
        WHERE organization_id = $1 AND occurred_at <= $2`,
      [organizationId, now, today],
    );
  }

  /** The inputs of engagement_score for each of the `days` days ending today (oldest first); at most 7 (see per_user). */
  engagementDays(organizationId: string, now: Date, today: Date, days: number): Promise<EngagementDay[]> {
    if (!Number.isInteger(days) || days < 1 || days > 7) throw new RangeError('engagementDays covers 1 to 7 days');
    return this.rows(
      organizationId,
      `WITH days AS (SELECT x FROM generate_series(1 - $4::int, 0) AS x),
       user_days AS (
         SELECT DISTINCT floor(date_part('epoch', occurred_at - $3::timestamptz) / 86400)::int AS day_index, user_id
           FROM activity_events
          WHERE organization_id = $1 AND occurred_at >= $3::timestamptz - ($4::int - 1 + 29) * ${DAY} AND occurred_at <= $2
       ),
       day_totals AS (
         SELECT floor(date_part('epoch', occurred_at - $3::timestamptz) / 86400)::int AS day_index,
                count(*) FILTER (WHERE type = 'lesson_completed') AS lessons,
                count(*) FILTER (WHERE type = 'session') AS sessions,
                coalesce(sum(duration_seconds) FILTER (WHERE type = 'session'), 0) AS session_seconds
           FROM activity_events
          WHERE organization_id = $1 AND occurred_at >= $3::timestamptz - ($4::int - 1 + 6) * ${DAY} AND occurred_at <= $2
          GROUP BY 1
       ),
       -- A user is active in the window [X − L + 1, X] (L = 7 or 30, never shorter than the trend) exactly when
       -- their first active day inside the trend is ≤ X, or their last active day before it is ≥ X − L + 1:
       -- one row per user instead of a distinct count per day and window.
       per_user AS (
         SELECT max(day_index) FILTER (WHERE day_index <= -$4::int) AS last_before,
                min(day_index) FILTER (WHERE day_index > -$4::int) AS first_within
           FROM user_days
          GROUP BY user_id
       ),
       users_by_day AS (
         SELECT d.x,
                count(*) FILTER (WHERE p.first_within <= d.x OR p.last_before >= d.x - 6) AS active_users_w7,
                count(*) FILTER (WHERE p.first_within <= d.x OR p.last_before >= d.x - 29) AS active_users_w30
           FROM days d CROSS JOIN per_user p
          GROUP BY d.x
       ),
       user_days_by_day AS (
         SELECT d.x, count(*) AS daily_active_users_sum_w7
           FROM days d JOIN user_days u ON u.day_index BETWEEN d.x - 6 AND d.x
          GROUP BY d.x
       ),
       totals_by_day AS (
         SELECT d.x, sum(t.sessions) AS sessions_w7, sum(t.session_seconds) AS session_seconds_w7, sum(t.lessons) AS lessons_completed_w7
           FROM days d JOIN day_totals t ON t.day_index BETWEEN d.x - 6 AND d.x
          GROUP BY d.x
       )
       SELECT $3::timestamptz + d.x * ${DAY} AS day,
              coalesce(s.daily_active_users_sum_w7, 0)::int AS daily_active_users_sum_w7,
              coalesce(u.active_users_w7, 0)::int AS active_users_w7,
              coalesce(u.active_users_w30, 0)::int AS active_users_w30,
              coalesce(t.sessions_w7, 0)::int AS sessions_w7,
              coalesce(t.session_seconds_w7, 0)::float8 AS session_seconds_w7,
              coalesce(t.lessons_completed_w7, 0)::int AS lessons_completed_w7
         FROM days d
         LEFT JOIN users_by_day u ON u.x = d.x
         LEFT JOIN user_days_by_day s ON s.x = d.x
         LEFT JOIN totals_by_day t ON t.x = d.x
        ORDER BY d.x`,
      [organizationId, now, today, days],
    );
  }

  /** Zero-filled per-bucket figures (trends, statistics, export, the activity histogram) from generate_series. */
  activitySeries(organizationId: string, window: SeriesWindow): Promise<SeriesBucket[]> {
    const bucketOf = (column: string) => `LEAST(floor(date_part('epoch', ${column} - $3::timestamptz) / $4::int)::int, $5::int - 1)`;
    return this.rows(
      organizationId,
      `WITH buckets AS (SELECT i FROM generate_series(0, $5::int - 1) AS i),
       events AS (
         SELECT ${bucketOf('occurred_at')} AS i,
                count(*) AS events,
                count(DISTINCT user_id) AS active_users,
                count(*) FILTER (WHERE type = 'session') AS sessions,
                avg(duration_seconds) FILTER (WHERE type = 'session') / 60.0 AS avg_session_minutes,
                count(*) FILTER (WHERE type = 'lesson_completed') AS lessons_completed,
                count(*) FILTER (WHERE type = 'assessment_submitted') AS assessments_submitted,
                avg(score) FILTER (WHERE type = 'assessment_submitted') AS avg_score
           FROM activity_events
          WHERE organization_id = $1 AND occurred_at >= $3 AND occurred_at <= $2
          GROUP BY 1
       ),
       new_users AS (
         SELECT ${bucketOf('created_at')} AS i, count(*) AS new_users
           FROM users WHERE organization_id = $1 AND created_at >= $3 AND created_at <= $2 GROUP BY 1
       ),
       created AS (
         SELECT ${bucketOf('created_at')} AS i, count(*) AS content_created, avg(generation_time_ms) / 1000.0 AS avg_generation_seconds
           FROM educational_content WHERE organization_id = $1 AND created_at >= $3 AND created_at <= $2 GROUP BY 1
       ),
       published AS (
         SELECT ${bucketOf('published_at')} AS i, count(*) AS content_published
           FROM educational_content
          WHERE organization_id = $1 AND deleted_at IS NULL AND published_at >= $3 AND published_at <= $2 GROUP BY 1
       )
       SELECT $3::timestamptz + b.i * $4::int * interval '1 second' AS bucket_start,
              coalesce(e.active_users, 0)::int AS active_users,
              coalesce(n.new_users, 0)::int AS new_users,
              coalesce(c.content_created, 0)::int AS content_created,
              coalesce(p.content_published, 0)::int AS content_published,
              c.avg_generation_seconds::float8 AS avg_generation_seconds,
              coalesce(e.events, 0)::int AS events,
              coalesce(e.sessions, 0)::int AS sessions,
              e.avg_session_minutes::float8 AS avg_session_minutes,
              coalesce(e.lessons_completed, 0)::int AS lessons_completed,
              coalesce(e.assessments_submitted, 0)::int AS assessments_submitted,
              e.avg_score::float8 AS avg_score
         FROM buckets b
         LEFT JOIN events e ON e.i = b.i
         LEFT JOIN new_users n ON n.i = b.i
         LEFT JOIN created c ON c.i = b.i
         LEFT JOIN published p ON p.i = b.i
        ORDER BY b.i`,
      [organizationId, window.now, window.since, window.bucketSeconds, window.buckets],
    );
  }

  /** The activity endpoint's counts over [since, now]; published content that was deleted since is left out. */
  windowCounts(organizationId: string, since: Date, now: Date): Promise<WindowCounts> {
    return this.one(
      organizationId,
      `SELECT e.lessons_completed, e.assessments_submitted, e.sessions,
              (SELECT count(*) FROM users WHERE organization_id = $1 AND created_at >= $2 AND created_at <= $3)::int AS new_users,
              (SELECT count(*) FROM educational_content
                WHERE organization_id = $1 AND deleted_at IS NULL AND published_at >= $2 AND published_at <= $3)::int AS content_published
         FROM (SELECT count(*) FILTER (WHERE type = 'lesson_completed')::int AS lessons_completed,
                      count(*) FILTER (WHERE type = 'assessment_submitted')::int AS assessments_submitted,
                      count(*) FILTER (WHERE type = 'session')::int AS sessions
                 FROM activity_events
                WHERE organization_id = $1 AND occurred_at >= $2 AND occurred_at <= $3) e`,
      [organizationId, since, now],
    );
  }

  /** Up to `limit` content items with the most lesson completions in [since, now]; ties by title, then id. */
  topContent(organizationId: string, since: Date, now: Date, limit: number): Promise<TopContentRow[]> {
    return this.rows(
      organizationId,
      `SELECT c.id, c.title, c.content_type, t.completions::int AS completions, t.avg_score::float8 AS avg_score
         FROM (SELECT content_id, count(*) AS completions, avg(score) AS avg_score
                 FROM activity_events
                WHERE organization_id = $1 AND type = 'lesson_completed' AND content_id IS NOT NULL
                  AND occurred_at >= $2 AND occurred_at <= $3
                GROUP BY content_id) t
         JOIN educational_content c ON c.organization_id = $1 AND c.id = t.content_id
        ORDER BY t.completions DESC, c.title, c.id
        LIMIT $4`,
      [organizationId, since, now, limit],
    );
  }

  /** The newest events in [since, now] with their user's name and content's title. */
  recentEvents(organizationId: string, since: Date, now: Date, limit: number): Promise<RecentEventRow[]> {
    return this.rows(
      organizationId,
      `SELECT e.id, e.type, e.occurred_at, u.id AS user_id, u.name AS user_name, c.id AS content_id, c.title AS content_title
         FROM activity_events e
         JOIN users u ON u.organization_id = $1 AND u.id = e.user_id
         LEFT JOIN educational_content c ON c.organization_id = $1 AND c.id = e.content_id
        WHERE e.organization_id = $1 AND e.occurred_at >= $2 AND e.occurred_at <= $3
        ORDER BY e.occurred_at DESC, e.id DESC
        LIMIT $4`,
      [organizationId, since, now, limit],
    );
  }

  private async one<T>(organizationId: string, sql: string, params: unknown[]): Promise<T> {
    const rows = await this.rows<T>(organizationId, sql, params);
    return rows[0];
  }

  private rows<T>(organizationId: string, sql: string, params: unknown[]): Promise<T[]> {
    return this.tx.run(
      organizationId,
      async (manager: EntityManager) => {
        // These short aggregates are costed high (expression joins); JIT compilation alone took ~1.3 s of a 2 s query.
        await manager.query('SET LOCAL jit = off');
        return manager.query(sql, params);
      },
      { readOnly: true },
    );
  }
}
