import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-organization, per-UTC-day rollups that let the dashboard answer without scanning raw events (issue 7).
 *
 * - daily_rollups: one row per (organization, day) with additive counters, kept by triggers in the transaction of
 *   every write, whatever its path (API, seed, fixtures, manual repair): row triggers see OLD and NEW of the locked
 *   row; the events' statement trigger sees only the rows the INSERT actually stored (replays count nothing).
 * - user_active_days: the set of (user, day) pairs with at least one event: exact daily-active counts, and the
 *   neighbours of a new pair for the windowed distinct counts below.
 * - active_7d_delta / active_30d_delta / retained_30d_delta are difference arrays: the number of distinct
 *   users active in the 7 (30) days ending X is the sum of the deltas of the days <= X. retained_30d counts
 *   only users created on a day <= X - 30 (the user_retention cohort).
 */
export class Rollups1764200000000 implements MigrationInterface {
  name = 'Rollups1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE daily_rollups (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        day date NOT NULL,
        new_users integer NOT NULL DEFAULT 0,
        new_users_active integer NOT NULL DEFAULT 0,
        content_created integer NOT NULL DEFAULT 0,
        content_generated integer NOT NULL DEFAULT 0,
        content_generation_ms bigint NOT NULL DEFAULT 0,
        content_draft integer NOT NULL DEFAULT 0,
        content_published integer NOT NULL DEFAULT 0,
        content_archived integer NOT NULL DEFAULT 0,
        events integer NOT NULL DEFAULT 0,
        lessons_completed integer NOT NULL DEFAULT 0,
        assessments integer NOT NULL DEFAULT 0,
        assessment_score_sum double precision NOT NULL DEFAULT 0,
        sessions integer NOT NULL DEFAULT 0,
        session_seconds bigint NOT NULL DEFAULT 0,
        daily_active_users integer NOT NULL DEFAULT 0,
        active_7d_delta integer NOT NULL DEFAULT 0,
        active_30d_delta integer NOT NULL DEFAULT 0,
        retained_30d_delta integer NOT NULL DEFAULT 0,
        PRIMARY KEY (organization_id, day)
      )`);
    // Derived from activity_events (which carry the foreign keys); no FK here so ingestion pays no extra checks.
    await queryRunner.query(`
      CREATE TABLE user_active_days (
        organization_id uuid NOT NULL,
        user_id uuid NOT NULL,
        day date NOT NULL,
        PRIMARY KEY (organization_id, user_id, day)
      )`);
    // active_users (rolling 24 h) counts users by last_active_at, the latest event time ingestion keeps.
    await queryRunner.query(`CREATE INDEX users_org_last_active_idx ON users (organization_id, last_active_at)`);

    for (const table of ['daily_rollups', 'user_active_days']) {
      await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`
        CREATE POLICY tenant_isolation ON ${table}
          USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
          WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
      await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO toolbox_app`);
    }

    // Users: new users per created day, and how many of them are active now (total_users is their sum).
    await queryRunner.query(`
      CREATE FUNCTION rollups_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO daily_rollups AS r (organization_id, day, new_users, new_users_active)
        SELECT organization_id, (created_at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE is_active)
          FROM inserted_users GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (organization_id, day) DO UPDATE
          SET new_users = r.new_users + EXCLUDED.new_users, new_users_active = r.new_users_active + EXCLUDED.new_users_active;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER rollups_users_inserted AFTER INSERT ON users
        REFERENCING NEW TABLE AS inserted_users FOR EACH STATEMENT EXECUTE FUNCTION rollups_users_inserted()`);
    // is_active or created_at changed: move the user's counts; a new created day also moves its retention spans.
    await queryRunner.query(USER_CHANGED_FUNCTION);
    // The WHEN clause keeps ingestion's last_active_at updates from calling the function at all.
    await queryRunner.query(`
      CREATE TRIGGER rollups_user_changed AFTER UPDATE OF is_active, created_at ON users
        FOR EACH ROW WHEN ((OLD.is_active, OLD.created_at) IS DISTINCT FROM (NEW.is_active, NEW.created_at)) EXECUTE FUNCTION rollups_user_changed()`);

    // Content: created per day (deleted or not), generation time, and live (not deleted) items by status.
    await queryRunner.query(`
      CREATE FUNCTION rollups_content_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO daily_rollups AS r (organization_id, day, content_created, content_generated, content_generation_ms,
                                        content_draft, content_published, content_archived)
        SELECT organization_id, (created_at AT TIME ZONE 'UTC')::date, count(*), count(generation_time_ms), COALESCE(sum(generation_time_ms), 0),
               count(*) FILTER (WHERE deleted_at IS NULL AND status = 'draft'),
               count(*) FILTER (WHERE deleted_at IS NULL AND status = 'published'),
               count(*) FILTER (WHERE deleted_at IS NULL AND status = 'archived')
          FROM inserted_content GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (organization_id, day) DO UPDATE
          SET content_created = r.content_created + EXCLUDED.content_created,
              content_generated = r.content_generated + EXCLUDED.content_generated,
              content_generation_ms = r.content_generation_ms + EXCLUDED.content_generation_ms,
              content_draft = r.content_draft + EXCLUDED.content_draft,
              content_published = r.content_published + EXCLUDED.content_published,
              content_archived = r.content_archived + EXCLUDED.content_archived;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER rollups_content_inserted AFTER INSERT ON educational_content
        REFERENCING NEW TABLE AS inserted_content FOR EACH STATEMENT EXECUTE FUNCTION rollups_content_inserted()`);
    // Any change of what the counters read: take the old row's contribution away and add the new row's.
    await queryRunner.query(`
      CREATE FUNCTION rollups_content_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO daily_rollups AS r (organization_id, day, content_created, content_generated, content_generation_ms,
                                        content_draft, content_published, content_archived)
        SELECT organization_id, day, sum(created), sum(generated), sum(generation_ms), sum(draft), sum(published), sum(archived)
          FROM (VALUES
            (OLD.organization_id, (OLD.created_at AT TIME ZONE 'UTC')::date, -1, -(OLD.generation_time_ms IS NOT NULL)::int, -COALESCE(OLD.generation_time_ms, 0)::bigint,
             -(OLD.deleted_at IS NULL AND OLD.status = 'draft')::int, -(OLD.deleted_at IS NULL AND OLD.status = 'published')::int, -(OLD.deleted_at IS NULL AND OLD.status = 'archived')::int),
            (NEW.organization_id, (NEW.created_at AT TIME ZONE 'UTC')::date, 1, (NEW.generation_time_ms IS NOT NULL)::int, COALESCE(NEW.generation_time_ms, 0)::bigint,
             (NEW.deleted_at IS NULL AND NEW.status = 'draft')::int, (NEW.deleted_at IS NULL AND NEW.status = 'published')::int, (NEW.deleted_at IS NULL AND NEW.status = 'archived')::int)
          ) AS change (organization_id, day, created, generated, generation_ms, draft, published, archived)
         GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (organization_id, day) DO UPDATE
          SET content_created = r.content_created + EXCLUDED.content_created,
              content_generated = r.content_generated + EXCLUDED.content_generated,
              content_generation_ms = r.content_generation_ms + EXCLUDED.content_generation_ms,
              content_draft = r.content_draft + EXCLUDED.content_draft,
              content_published = r.content_published + EXCLUDED.content_published,
              content_archived = r.content_archived + EXCLUDED.content_archived;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER rollups_content_changed AFTER UPDATE ON educational_content
        FOR EACH ROW WHEN ((OLD.status, OLD.deleted_at IS NULL, OLD.created_at, OLD.generation_time_ms)
                           IS DISTINCT FROM (NEW.status, NEW.deleted_at IS NULL, NEW.created_at, NEW.generation_time_ms))
        EXECUTE FUNCTION rollups_content_changed()`);

    // Events: per-day counts and the distinct-user sets, from the rows the INSERT stored (ON CONFLICT skips replays).
    // The statement's users are locked in id order first: batches sharing a user serialize, so the active days read
    // below include every committed day of those users, and two batches never deadlock on each other's users.
    // Windowed distinct counts: adding the pair (user, d) with previous active day p and next active day n makes the
    // user newly counted in the k-day windows ending X for X in [max(d, p + k), min(d + k, n)), recorded as +1 / -1
    // in the delta columns. A statement's new pairs are taken as if added in ascending day order: p also looks at
    // the statement's earlier new pairs (lag), n only at the stored ones.
    await queryRunner.query(`
      CREATE FUNCTION rollups_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM 1 FROM users u WHERE (u.organization_id, u.id) IN (SELECT organization_id, user_id FROM inserted_events)
          ORDER BY u.organization_id, u.id FOR UPDATE;
        -- last_active_at / last_login_at (what active_users reads) follow every stored event, forward only; rows that
        -- ingestion's own statement already moved are left alone.
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
          INSERT INTO user_active_days (organization_id, user_id, day)
          SELECT DISTINCT organization_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM inserted_events
          ON CONFLICT DO NOTHING
          RETURNING organization_id, user_id, day
        ), active_day_neighbours AS (
          SELECT n.organization_id, n.day, (u.created_at AT TIME ZONE 'UTC')::date AS created_day,
                 GREATEST(lag(n.day) OVER (PARTITION BY n.organization_id, n.user_id ORDER BY n.day),
                          (SELECT max(o.day) FROM user_active_days o WHERE o.organization_id = n.organization_id AND o.user_id = n.user_id AND o.day < n.day)) AS previous_day,
                 (SELECT min(o.day) FROM user_active_days o WHERE o.organization_id = n.organization_id AND o.user_id = n.user_id AND o.day > n.day) AS next_day
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
    await queryRunner.query(`
      CREATE TRIGGER rollups_events_inserted AFTER INSERT ON activity_events
        REFERENCING NEW TABLE AS inserted_events FOR EACH STATEMENT EXECUTE FUNCTION rollups_events_inserted()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_events_inserted ON activity_events`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_events_inserted()`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_content_changed ON educational_content`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_content_inserted ON educational_content`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_user_changed ON users`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_users_inserted ON users`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_content_changed()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_content_inserted()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_user_changed()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_users_inserted()`);
    await queryRunner.query(`DROP INDEX IF EXISTS users_org_last_active_idx`);
    await queryRunner.query(`DROP TABLE IF EXISTS user_active_days`);
    await queryRunner.query(`DROP TABLE IF EXISTS daily_rollups`);
  }
}

/** The users row trigger's function as this migration creates it (a later migration's down() restores it). */
export const USER_CHANGED_FUNCTION = `
      CREATE OR REPLACE FUNCTION rollups_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        old_day date := (OLD.created_at AT TIME ZONE 'UTC')::date;
        new_day date := (NEW.created_at AT TIME ZONE 'UTC')::date;
      BEGIN
        INSERT INTO daily_rollups AS r (organization_id, day, new_users, new_users_active, retained_30d_delta)
        SELECT NEW.organization_id, day, sum(users), sum(active), sum(retained)
          FROM (
            SELECT old_day AS day, -1 AS users, -OLD.is_active::int AS active, 0 AS retained
            UNION ALL SELECT new_day, 1, NEW.is_active::int, 0
            -- Each active day's retention span [max(d, previous + 30, created + 30), d + 30): the old one out, the new one in.
            UNION ALL SELECT edge.day, 0, 0, edge.delta
              FROM (SELECT a.day, lag(a.day) OVER (ORDER BY a.day) AS previous_day
                      FROM user_active_days a WHERE a.organization_id = NEW.organization_id AND a.user_id = NEW.id) pair
             CROSS JOIN LATERAL (VALUES (old_day, -1), (new_day, 1)) AS created (day, sign)
             CROSS JOIN LATERAL (SELECT GREATEST(pair.day, pair.previous_day + 30, created.day + 30) AS from_day) span
             CROSS JOIN LATERAL (VALUES (span.from_day, created.sign), (pair.day + 30, -created.sign)) AS edge (day, delta)
             WHERE old_day <> new_day AND span.from_day < pair.day + 30
          ) change
         GROUP BY day ORDER BY day
        ON CONFLICT (organization_id, day) DO UPDATE
          SET new_users = r.new_users + EXCLUDED.new_users,
              new_users_active = r.new_users_active + EXCLUDED.new_users_active,
              retained_30d_delta = r.retained_30d_delta + EXCLUDED.retained_30d_delta;
        RETURN NULL;
      END $$`;
