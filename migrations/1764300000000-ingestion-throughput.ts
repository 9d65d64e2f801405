import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ingestion throughput (issue 7; target: 20,000 events/s in batches of 1,000). Measured on the bench data, per batch:
 *
 * - rollups_last_active_moved joined its two transition tables (no indexes, no statistics: a nested loop over
 *   1,000 × 1,000 rows, ~140 ms). Unchanged users add -1 and +1 to the same hour, so summing both tables by hour
 *   without the join gives the same deltas (~2 ms).
 * - users_org_last_active_idx made every last_active_at move a non-HOT update with four index inserts (~21 ms for
 *   1,000 users, ~8 ms without it). active_users now counts the partial first hour from that hour's events instead
 *   (src/rollups/rollups.repository.ts); fillfactor leaves room on new pages for HOT updates.
 * - activity_events' foreign keys to organizations and users locked the organization row (a MultiXact under
 *   concurrent batches) and each user row once per event. The events trigger now checks the users once per user,
 *   under the lock it takes anyway, and raises the same foreign_key_violation (23503). Users and organizations are
 *   never deleted by the service (users are deactivated), so the keys' delete side had nothing to guard.
 * - events_org_user_occurred_idx was a random-order insert per event into the largest index; no service query
 *   needs it any more (the dashboard reads rollups; the late-event correction scans the last 24 h instead).
 * - The events trigger now takes the users' locks itself, FOR NO KEY UPDATE (which the inserts' foreign-key
 *   checks do not wait for), after the rows are stored: concurrent batches overlap in the insert and queue only
 *   for the rollup part. EventsRepository no longer locks or updates users itself.
 */
export class IngestionThroughput1764300000000 implements MigrationInterface {
  name = 'IngestionThroughput1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION rollups_last_active_moved() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO last_active_hours AS r (organization_id, hour, users)
        SELECT organization_id, hour, sum(delta)
          FROM (
            SELECT organization_id, date_trunc('hour', last_active_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, -1 AS delta
              FROM old_users WHERE last_active_at IS NOT NULL
            UNION ALL
            SELECT organization_id, date_trunc('hour', last_active_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1
              FROM new_users WHERE last_active_at IS NOT NULL
          ) moved
         GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2
        ON CONFLICT (organization_id, hour) DO UPDATE SET users = r.users + EXCLUDED.users;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`DROP INDEX IF EXISTS users_org_last_active_idx`);
    await queryRunner.query(`ALTER TABLE users SET (fillfactor = 90)`);
    await queryRunner.query(`ALTER TABLE activity_events DROP CONSTRAINT IF EXISTS activity_events_organization_id_fkey`);
    await queryRunner.query(`ALTER TABLE activity_events DROP CONSTRAINT IF EXISTS activity_events_organization_id_user_id_fkey`);
    await queryRunner.query(`DROP INDEX IF EXISTS events_org_user_occurred_idx`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION rollups_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        added_organizations uuid[];
        added_users uuid[];
        added_days date[];
        locked_users bigint;
      BEGIN
        -- The new (user, day) pairs first, before any lock, so concurrent batches store theirs side by side. In key
        -- order: a batch that meets another's uncommitted pair waits for it, and two such waits can never cross.
        WITH added AS (
          INSERT INTO user_active_days (organization_id, user_id, day)
          SELECT DISTINCT organization_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM inserted_events ORDER BY 1, 2, 3
          ON CONFLICT DO NOTHING
          RETURNING organization_id, user_id, day
        )
        SELECT array_agg(organization_id), array_agg(user_id), array_agg(day) INTO added_organizations, added_users, added_days FROM added;
        -- Then the users, in id order: from here to commit, batches sharing a user take turns, and each reads its
        -- pairs' neighbours (below, in a statement of its own) with every earlier batch's pairs committed.
        PERFORM 1 FROM users u WHERE (u.organization_id, u.id) IN (SELECT organization_id, user_id FROM inserted_events)
          ORDER BY u.organization_id, u.id FOR NO KEY UPDATE;
        -- The foreign key to users, checked once per user instead of once per event: the lock keeps them until commit.
        GET DIAGNOSTICS locked_users = ROW_COUNT;
        IF locked_users <> (SELECT count(*) FROM (SELECT DISTINCT organization_id, user_id FROM inserted_events) batch_users) THEN
          RAISE EXCEPTION 'activity_events.user_id must be a user of the event''s organization' USING ERRCODE = 'foreign_key_violation';
        END IF;
        -- last_active_at / last_login_at (what active_users reads) follow every stored event, forward only.
        UPDATE users u
           SET last_active_at = GREATEST(u.last_active_at, a.last_active_at), last_login_at = GREATEST(u.last_login_at, a.last_login_at)
          FROM (SELECT organization_id, user_id, max(occurred_at) AS last_active_at, max(occurred_at) FILTER (WHERE type = 'login') AS last_login_at
                  FROM inserted_events GROUP BY 1, 2) a
         WHERE u.organization_id = a.organization_id AND u.id = a.user_id
           AND (u.last_active_at IS DISTINCT FROM GREATEST(u.last_active_at, a.last_active_at)
                OR u.last_login_at IS DISTINCT FROM GREATEST(u.last_login_at, a.last_login_at));
        WITH event_days AS (
          SELECT organization_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
                 count(*) AS events,
                 count(*) FILTER (WHERE type = 'lesson_completed') AS lessons_completed,
                 count(*) FILTER (WHERE type = 'assessment_submitted') AS assessments,
                 COALESCE(sum(score) FILTER (WHERE type = 'assessment_submitted'), 0) AS assessment_score_sum,
                 count(*) FILTER (WHERE type = 'session') AS sessions,
                 COALESCE(sum(duration_seconds) FILTER (WHERE type = 'session'), 0) AS session_seconds
            FROM inserted_events GROUP BY 1, 2
        ), new_active_days AS (
          SELECT * FROM unnest(added_organizations, added_users, added_days) AS n (organization_id, user_id, day)
        ), active_day_neighbours AS (
          -- The pairs are taken as added one by one in day order: the previous day may be one of this statement's
          -- (they are stored already), the next one only a day stored before it.
          SELECT n.organization_id, n.day, (u.created_at AT TIME ZONE 'UTC')::date AS created_day,
                 (SELECT max(o.day) FROM user_active_days o WHERE o.organization_id = n.organization_id AND o.user_id = n.user_id AND o.day < n.day) AS previous_day,
                 (SELECT min(o.day) FROM user_active_days o
                   WHERE o.organization_id = n.organization_id AND o.user_id = n.user_id AND o.day > n.day
                     AND (o.organization_id, o.user_id, o.day) NOT IN (SELECT organization_id, user_id, day FROM new_active_days)) AS next_day
            FROM new_active_days n JOIN users u ON u.organization_id = n.organization_id AND u.id = n.user_id
        ), window_spans AS (
          SELECT organization_id,
                 GREATEST(day, previous_day + 7) AS a7_from, LEAST(day + 7, next_day) AS a7_to,
                 GREATEST(day, previous_day + 30) AS a30_from, LEAST(day + 30, next_day) AS a30_to,
                 GREATEST(day, previous_day + 30, created_day + 30) AS r30_from, LEAST(day + 30, next_day) AS r30_to
            FROM active_day_neighbours
        ), rollup_changes AS (
          SELECT organization_id, day, sum(events) AS events, sum(lessons_completed) AS lessons_completed, sum(assessments) AS assessments,
                 sum(assessment_score_sum) AS assessment_score_sum, sum(sessions) AS sessions, sum(session_seconds) AS session_seconds,
                 sum(daily_active_users) AS daily_active_users, sum(a7) AS a7, sum(a30) AS a30, sum(r30) AS r30
            FROM (
              SELECT organization_id, day, events, lessons_completed, assessments, assessment_score_sum, sessions, session_seconds,
                     0 AS daily_active_users, 0 AS a7, 0 AS a30, 0 AS r30 FROM event_days
              UNION ALL SELECT organization_id, day, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 FROM new_active_days
              UNION ALL SELECT organization_id, a7_from, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 FROM window_spans WHERE a7_from < a7_to
              UNION ALL SELECT organization_id, a7_to, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0 FROM window_spans WHERE a7_from < a7_to
              UNION ALL SELECT organization_id, a30_from, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 FROM window_spans WHERE a30_from < a30_to
              UNION ALL SELECT organization_id, a30_to, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0 FROM window_spans WHERE a30_from < a30_to
              UNION ALL SELECT organization_id, r30_from, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 FROM window_spans WHERE r30_from < r30_to
              UNION ALL SELECT organization_id, r30_to, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1 FROM window_spans WHERE r30_from < r30_to
            ) change
           GROUP BY organization_id, day
        )
        -- In day order, so two statements touching the same days lock their rows in the same order.
        INSERT INTO daily_rollups AS r (organization_id, day, events, lessons_completed, assessments, assessment_score_sum, sessions, session_seconds,
                                        daily_active_users, active_7d_delta, active_30d_delta, retained_30d_delta)
        SELECT organization_id, day, events, lessons_completed, assessments, assessment_score_sum, sessions, session_seconds, daily_active_users, a7, a30, r30
          FROM rollup_changes ORDER BY organization_id, day
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
              retained_30d_delta = r.retained_30d_delta + EXCLUDED.retained_30d_delta;
        RETURN NULL;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS events_org_user_occurred_idx ON activity_events (organization_id, user_id, occurred_at)`);
    await queryRunner.query(`ALTER TABLE activity_events ADD CONSTRAINT activity_events_organization_id_user_id_fkey FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)`);
    await queryRunner.query(`ALTER TABLE activity_events ADD CONSTRAINT activity_events_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE`);
    await queryRunner.query(`ALTER TABLE users RESET (fillfactor)`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS users_org_last_active_idx ON users (organization_id, last_active_at)`);
    // The functions keep their new bodies: both compute the same rollups as before, only faster.
  }
}
