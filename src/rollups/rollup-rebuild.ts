import type { EntityManager } from 'typeorm';
import { ACTIVE_DAYS_BITS } from './active-days.js';

const DAY = `(created_at AT TIME ZONE 'UTC')::date`;

/**
 * Recomputes an organization's rollups from the raw tables: after a bulk load that bypassed ingestion (the
 * seed) and as a repair tool. Raw events are read from the retention horizon on (activity_events_retention: the end of
 * the latest month EVENT_RETENTION_DAYS dropped); the days before it keep their event figures and active days, which
 * only the rollups and the users' bits still hold, while everything computed from users, content and active days is
 * recomputed whole.
 * Runs inside the caller's transaction; the table lock keeps concurrent writers (which add to the rollups) waiting
 * until the rebuild commits, so none of their changes is lost or counted twice.
 *
 * `rawEventsComplete`: the caller knows every event the organization ever had is still in activity_events (the seed,
 * which created the organization in this same transaction), so every day is recomputed from them, also the days
 * before the horizon, which would otherwise keep the rollups they never had.
 */
export async function rebuildOrganizationRollups(manager: EntityManager, organizationId: string, options: { rawEventsComplete?: boolean } = {}): Promise<void> {
  // The organization's batches of events wait before they lock any user (whose active days this rewrites).
  await manager.query(`SELECT lock_organization_rollups_of($1, true)`, [organizationId]);
  await manager.query(`LOCK TABLE daily_rollups, last_active_minutes IN SHARE ROW EXCLUSIVE MODE`);
  // Before the horizon is read: a retention drop (which needs activity_events exclusively) waits until this commits,
  // so no month can vanish between reading where the raw events are complete and reading them.
  await manager.query(`LOCK TABLE activity_events IN ACCESS SHARE MODE`);
  const [horizon]: { kept_from: Date }[] = await manager.query(`SELECT kept_from FROM activity_events_retention`);
  // -infinity: nothing was ever dropped, every day is recomputed from raw events.
  const keptFrom = options.rawEventsComplete ? '-infinity' : (horizon?.kept_from.toISOString() ?? '-infinity');
  await manager.query(`DELETE FROM daily_rollups WHERE organization_id = $1 AND day >= ($2::timestamptz AT TIME ZONE 'UTC')::date`, [organizationId, keptFrom]);
  await manager.query(
    `UPDATE daily_rollups SET new_users = 0, new_users_active = 0, content_created = 0, content_generated = 0, content_generation_ms = 0,
            content_draft = 0, content_published = 0, content_archived = 0,
            daily_active_users = 0, active_7d_delta = 0, active_30d_delta = 0, retained_30d_delta = 0
      WHERE organization_id = $1`,
    [organizationId],
  );
  await manager.query(`DELETE FROM last_active_minutes WHERE organization_id = $1`, [organizationId]);
  await manager.query(
    `INSERT INTO last_active_minutes (organization_id, minute, users)
     SELECT $1::uuid, date_trunc('minute', last_active_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*)
       FROM users WHERE organization_id = $1 AND last_active_at IS NOT NULL GROUP BY 2`,
    [organizationId],
  );
  // In key order, so that millions of ids (the xl seed) fill the index page by page. Ids are only ever added: after retention dropped old partitions, the registry still knows their events.
  await manager.query(
    `INSERT INTO activity_event_ids (organization_id, id) SELECT organization_id, id FROM activity_events WHERE organization_id = $1 ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
    [organizationId],
  );
  await manager.query(
    `INSERT INTO daily_rollups AS r (organization_id, day, new_users, new_users_active)
     SELECT $1::uuid, ${DAY}, count(*), count(*) FILTER (WHERE is_active) FROM users WHERE organization_id = $1 GROUP BY 2
     ON CONFLICT (organization_id, day) DO UPDATE SET new_users = EXCLUDED.new_users, new_users_active = EXCLUDED.new_users_active`,
    [organizationId],
  );
  await manager.query(
    `INSERT INTO daily_rollups AS r (organization_id, day, content_created, content_generated, content_generation_ms, content_draft, content_published, content_archived)
     SELECT $1::uuid, ${DAY}, count(*), count(generation_time_ms), COALESCE(sum(generation_time_ms), 0),
            count(*) FILTER (WHERE deleted_at IS NULL AND status = 'draft'),
            count(*) FILTER (WHERE deleted_at IS NULL AND status = 'published'),
            count(*) FILTER (WHERE deleted_at IS NULL AND status = 'archived')
       FROM educational_content WHERE organization_id = $1 GROUP BY 2
     ON CONFLICT (organization_id, day) DO UPDATE
       SET content_created = EXCLUDED.content_created, content_generated = EXCLUDED.content_generated,
           content_generation_ms = EXCLUDED.content_generation_ms, content_draft = EXCLUDED.content_draft,
           content_published = EXCLUDED.content_published, content_archived = EXCLUDED.content_archived`,
    [organizationId],
  );
  await manager.query(
    `INSERT INTO daily_rollups AS r (organization_id, day, events, lessons_completed, assessments, assessments_scored, assessment_score_sum, sessions, session_seconds)
     SELECT $1::uuid, (occurred_at AT TIME ZONE 'UTC')::date, count(*),
            count(*) FILTER (WHERE type = 'lesson_completed'),
            count(*) FILTER (WHERE type = 'assessment_submitted'),
            count(score) FILTER (WHERE type = 'assessment_submitted'),
            COALESCE(sum(score) FILTER (WHERE type = 'assessment_submitted'), 0),
            count(*) FILTER (WHERE type = 'session'),
            COALESCE(sum(duration_seconds) FILTER (WHERE type = 'session'), 0)
       FROM activity_events WHERE organization_id = $1 AND occurred_at >= $2 GROUP BY 2
     ON CONFLICT (organization_id, day) DO UPDATE
       SET events = EXCLUDED.events, lessons_completed = EXCLUDED.lessons_completed, assessments = EXCLUDED.assessments, assessments_scored = EXCLUDED.assessments_scored,
           assessment_score_sum = EXCLUDED.assessment_score_sum, sessions = EXCLUDED.sessions, session_seconds = EXCLUDED.session_seconds`,
    [organizationId, keptFrom],
  );
  // The active days: before the horizon from the users' bits, from it on from the raw events. Each user's bits are
  // rewritten from them, and each (user, day), taken in day order, newly counts its user in the windows ending
  // [max(d, previous + k), d + k).
  await manager.query(
    `WITH pairs AS (
       SELECT u.id AS user_id, u.active_from + (bit.n - 1)::int AS day
         FROM users u CROSS JOIN LATERAL string_to_table(substring(u.active_days::text FROM 1 FOR ($2::timestamptz AT TIME ZONE 'UTC')::date - u.active_from), NULL)
                        WITH ORDINALITY AS bit (value, n)
        WHERE u.organization_id = $1 AND u.active_from < ($2::timestamptz AT TIME ZONE 'UTC')::date AND bit.value = '1'
       UNION ALL
       SELECT DISTINCT user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM activity_events WHERE organization_id = $1 AND occurred_at >= $2
     ), ordered AS MATERIALIZED (
       SELECT user_id, day, lag(day) OVER (PARTITION BY user_id ORDER BY day) AS previous_day FROM pairs
     ), bits AS (
       UPDATE users u SET active_from = b.active_from, active_days = b.active_days
         FROM (SELECT x.id, s.active_from, s.active_days
                 FROM users x
                 LEFT JOIN (SELECT user_id, min(day) AS active_from,
                                   ${ACTIVE_DAYS_BITS} AS active_days
                              FROM ordered GROUP BY user_id) s ON s.user_id = x.id
                WHERE x.organization_id = $1) b
        WHERE u.organization_id = $1 AND u.id = b.id AND (u.active_from IS DISTINCT FROM b.active_from OR u.active_days IS DISTINCT FROM b.active_days)
     ), spans AS (
       SELECT o.day, GREATEST(o.day, o.previous_day + 7) AS a7_from, GREATEST(o.day, o.previous_day + 30) AS a30_from,
              GREATEST(o.day, o.previous_day + 30, (u.created_at AT TIME ZONE 'UTC')::date + 30) AS r30_from
         FROM ordered o JOIN users u ON u.organization_id = $1 AND u.id = o.user_id
     ), deltas AS (
       SELECT day, 1 AS dau, 0 AS a7, 0 AS a30, 0 AS r30 FROM spans
       UNION ALL SELECT a7_from, 0, 1, 0, 0 FROM spans WHERE a7_from < day + 7
       UNION ALL SELECT day + 7, 0, -1, 0, 0 FROM spans WHERE a7_from < day + 7
       UNION ALL SELECT a30_from, 0, 0, 1, 0 FROM spans WHERE a30_from < day + 30
       UNION ALL SELECT day + 30, 0, 0, -1, 0 FROM spans WHERE a30_from < day + 30
       UNION ALL SELECT r30_from, 0, 0, 0, 1 FROM spans WHERE r30_from < day + 30
       UNION ALL SELECT day + 30, 0, 0, 0, -1 FROM spans WHERE r30_from < day + 30
     )
     INSERT INTO daily_rollups AS r (organization_id, day, daily_active_users, active_7d_delta, active_30d_delta, retained_30d_delta)
     SELECT $1::uuid, day, sum(dau), sum(a7), sum(a30), sum(r30) FROM deltas GROUP BY day
     ON CONFLICT (organization_id, day) DO UPDATE
       SET daily_active_users = EXCLUDED.daily_active_users, active_7d_delta = EXCLUDED.active_7d_delta,
           active_30d_delta = EXCLUDED.active_30d_delta, retained_30d_delta = EXCLUDED.retained_30d_delta`,
    [organizationId, keptFrom],
  );
}
