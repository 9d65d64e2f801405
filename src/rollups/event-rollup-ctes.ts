/**
 * The rollup maintenance of an event batch, as CTEs appended to EventsRepository.insertBatch's statement.
 * It reads `inserted` (the rows the INSERT returned: user_id, type, occurred_at, duration_seconds, score), so
 * duplicates and replays count nothing, and $1 (the organization). The caller must first lock the batch's
 * users (lockUsersForRollups): the user_active_days this statement reads then include every committed day of
 * those users, and no concurrent batch can add one until this transaction ends.
 *
 * Windowed distinct counts: adding the pair (user, d) with previous active day p and next active day n makes the
 * user newly counted in the k-day windows ending X for X in [max(d, p + k), min(d + k, n)) — recorded as +1 / -1
 * in the day's delta column. Pairs of one batch are taken as if added in ascending day order: p also looks at
 * the batch's earlier new pairs (lag), n only at the stored ones.
 */
export const EVENT_ROLLUP_CTES = `
  event_days AS (
    SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS events,
           count(*) FILTER (WHERE type = 'lesson_completed') AS lessons_completed,
           count(*) FILTER (WHERE type = 'assessment_submitted') AS assessments,
           COALESCE(sum(score) FILTER (WHERE type = 'assessment_submitted'), 0) AS assessment_score_sum,
           count(*) FILTER (WHERE type = 'session') AS sessions,
           COALESCE(sum(duration_seconds) FILTER (WHERE type = 'session'), 0) AS session_seconds
      FROM inserted GROUP BY 1
  ), new_active_days AS (
    INSERT INTO user_active_days (organization_id, user_id, day)
    SELECT DISTINCT $1::uuid, user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM inserted
    ON CONFLICT DO NOTHING
    RETURNING user_id, day
  ), active_day_neighbours AS (
    SELECT n.day, (u.created_at AT TIME ZONE 'UTC')::date AS created_day,
           GREATEST(lag(n.day) OVER (PARTITION BY n.user_id ORDER BY n.day),
                    (SELECT max(o.day) FROM user_active_days o WHERE o.organization_id = $1 AND o.user_id = n.user_id AND o.day < n.day)) AS previous_day,
           (SELECT min(o.day) FROM user_active_days o WHERE o.organization_id = $1 AND o.user_id = n.user_id AND o.day > n.day) AS next_day
      FROM new_active_days n JOIN users u ON u.organization_id = $1 AND u.id = n.user_id
  ), window_spans AS (
    SELECT GREATEST(day, previous_day + 7) AS a7_from, LEAST(day + 7, next_day) AS a7_to,
           GREATEST(day, previous_day + 30) AS a30_from, LEAST(day + 30, next_day) AS a30_to,
           GREATEST(day, previous_day + 30, created_day + 30) AS r30_from, LEAST(day + 30, next_day) AS r30_to
      FROM active_day_neighbours
  ), rollup_changes AS (
    SELECT day, sum(events) AS events, sum(lessons_completed) AS lessons_completed, sum(assessments) AS assessments,
           sum(assessment_score_sum) AS assessment_score_sum, sum(sessions) AS sessions, sum(session_seconds) AS session_seconds,
           sum(daily_active_users) AS daily_active_users, sum(a7) AS a7, sum(a30) AS a30, sum(r30) AS r30
      FROM (
        SELECT day, events, lessons_completed, assessments, assessment_score_sum, sessions, session_seconds, 0 AS daily_active_users, 0 AS a7, 0 AS a30, 0 AS r30 FROM event_days
        UNION ALL SELECT day, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 FROM new_active_days
        UNION ALL SELECT a7_from, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 FROM window_spans WHERE a7_from < a7_to
        UNION ALL SELECT a7_to, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0 FROM window_spans WHERE a7_from < a7_to
        UNION ALL SELECT a30_from, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 FROM window_spans WHERE a30_from < a30_to
        UNION ALL SELECT a30_to, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0 FROM window_spans WHERE a30_from < a30_to
        UNION ALL SELECT r30_from, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 FROM window_spans WHERE r30_from < r30_to
        UNION ALL SELECT r30_to, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1 FROM window_spans WHERE r30_from < r30_to
      ) change
     GROUP BY day
  ), rolled_up AS (
    -- In day order, so two batches touching the same days lock their rows in the same order.
    INSERT INTO daily_rollups AS r (organization_id, day, events, lessons_completed, assessments, assessment_score_sum, sessions, session_seconds,
                                    daily_active_users, active_7d_delta, active_30d_delta, retained_30d_delta)
    SELECT $1::uuid, day, events, lessons_completed, assessments, assessment_score_sum, sessions, session_seconds, daily_active_users, a7, a30, r30
      FROM rollup_changes ORDER BY day
    ON CONFLICT (organization_id, day) DO UPDATE
      SET events = r.events + EXCLUDED.events,
          lessons_completed = r.lessons_completed + EXCLUDED.lessons_completed,
          assessments = r.assessments + EXCLUDED.assessments,
          assessment_score_sum = r.assessment_score_sum + EXCLUDED.assessment_score_sum,
          sessions = r.sessions + EXCLUDED.sessions,
          session_seconds = r.session_seconds + EXCLUDED.session_seconds,
          daily_active_users = r.daily_active_users + EXCLUDED.daily_active_users,
          active_7d_delta = r.active_7d_delta + EXCLUDED.active_7d_delta,
          active_30d_delta = r.active_30d_delta + EXCLUDED.active_30d_delta,
          retained_30d_delta = r.retained_30d_delta + EXCLUDED.retained_30d_delta
    RETURNING 1
  )`;

/**
 * Locks the batch's users in id order before the batch statement: batches sharing a user serialize (see above)
 * and two batches never deadlock on each other's users.
 */
export const LOCK_USERS_FOR_ROLLUPS = `SELECT 1 FROM users WHERE organization_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`;
