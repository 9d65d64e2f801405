import { MigrationInterface, QueryRunner } from 'typeorm';
import { IngestionThroughput1764300000000 } from './1764300000000-ingestion-throughput.js';

/**
 * activity_events partitioned by month of occurred_at (declarative range partitioning), so that retention drops whole
 * partitions and no query or vacuum ever walks years of raw events.
 *
 * - A unique key of a partitioned table must contain the partition key, so (organization_id, id) alone can no longer
 *   be enforced by activity_events. activity_event_ids keeps every stored event id of each organization, kept by the
 *   events' statement trigger in the insert's transaction and never pruned by retention: a replay of an event whose
 *   partition was dropped is still recognised, and the rollups never count it twice.
 * - The primary key becomes (organization_id, occurred_at, id): appended at the right edge of each partition's index,
 *   and the range index of every windowed read, which makes events_org_occurred_idx redundant.
 * - activity_events_default takes rows whose month has no partition yet (a far-past import); the service moves them
 *   into their month's partition (activity_events_create_partition) at start-up and periodically.
 * - daily_rollups.assessments_scored counts the assessments with a score, the divisor of the per-day avg_score
 *   (a score is optional), so that statistics and exports read every series from the rollups.
 * The statement trigger stays on the partitioned table (PostgreSQL allows transition tables there, not on partitions).
 */
export class PartitionedEvents1764600000000 implements MigrationInterface {
  name = 'PartitionedEvents1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE daily_rollups ADD COLUMN assessments_scored integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`
      UPDATE daily_rollups r SET assessments_scored = s.scored
        FROM (SELECT organization_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, count(score)::int AS scored
                FROM activity_events WHERE type = 'assessment_submitted' GROUP BY 1, 2) s
       WHERE r.organization_id = s.organization_id AND r.day = s.day`);

    await queryRunner.query(`
      CREATE TABLE activity_event_ids (
        organization_id uuid NOT NULL,
        id uuid NOT NULL,
        PRIMARY KEY (organization_id, id)
      )`);
    await queryRunner.query(`INSERT INTO activity_event_ids (organization_id, id) SELECT organization_id, id FROM activity_events`);
    await enableTenantIsolation(queryRunner, 'activity_event_ids');
    await queryRunner.query(`GRANT SELECT, INSERT ON activity_event_ids TO toolbox_app`);

    await queryRunner.query(`
      CREATE TABLE activity_events_partitioned (
        organization_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        type text NOT NULL CONSTRAINT activity_events_type_check CHECK (type IN ('login', 'session', 'lesson_completed', 'assessment_submitted')),
        content_id uuid,
        occurred_at timestamptz NOT NULL,
        duration_seconds integer CONSTRAINT activity_events_duration_seconds_check CHECK (duration_seconds BETWEEN 0 AND 86400),
        score double precision CONSTRAINT activity_events_score_check CHECK (score BETWEEN 0 AND 100),
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT activity_events_check CHECK (type <> 'session' OR duration_seconds IS NOT NULL)
      ) PARTITION BY RANGE (occurred_at)`);
    await queryRunner.query(`CREATE TABLE activity_events_default PARTITION OF activity_events_partitioned DEFAULT`);
    // The months holding data, and the last one to three months ahead.
    await queryRunner.query(`
      DO $$
      DECLARE month date;
      BEGIN
        FOR month IN
          SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM activity_events
          UNION SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month',
                                       date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months', interval '1 month')::date
        LOOP
          EXECUTE format('CREATE TABLE %I PARTITION OF activity_events_partitioned FOR VALUES FROM (%L) TO (%L)',
                         'activity_events_p' || to_char(month, 'YYYY_MM'), month::timestamp AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        END LOOP;
      END $$`);
    // Copied before the new table has its trigger: the rows are already in the rollups.
    await queryRunner.query(`
      INSERT INTO activity_events_partitioned (organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at)
      SELECT organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at FROM activity_events`);
    await queryRunner.query(`DROP TABLE activity_events`);
    await queryRunner.query(`ALTER TABLE activity_events_partitioned RENAME TO activity_events`);
    await queryRunner.query(`ALTER TABLE activity_events ADD CONSTRAINT activity_events_pkey PRIMARY KEY (organization_id, occurred_at, id)`);
    await queryRunner.query(`
      ALTER TABLE activity_events ADD CONSTRAINT activity_events_organization_id_content_id_fkey
        FOREIGN KEY (organization_id, content_id) REFERENCES educational_content (organization_id, id)`);
    await queryRunner.query(`CREATE INDEX events_org_type_occurred_idx ON activity_events (organization_id, type, occurred_at)`);
    await queryRunner.query(`CREATE INDEX events_org_content_idx ON activity_events (organization_id, content_id) WHERE content_id IS NOT NULL`);
    await enableTenantIsolation(queryRunner, 'activity_events');
    // Through the parent only: the partitions themselves carry no grant, so no request can bypass its policy.
    await queryRunner.query(`GRANT SELECT, INSERT ON activity_events TO toolbox_app`);

    await queryRunner.query(`
      CREATE FUNCTION activity_events_create_partition(p_month date) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        month date := date_trunc('month', p_month)::date;
        partition_name text := 'activity_events_p' || to_char(date_trunc('month', p_month), 'YYYY_MM');
        lower_bound timestamptz := date_trunc('month', p_month)::timestamp AT TIME ZONE 'UTC';
        upper_bound timestamptz := (date_trunc('month', p_month) + interval '1 month') AT TIME ZONE 'UTC';
      BEGIN
        IF to_regclass(partition_name) IS NOT NULL THEN RETURN false; END IF;
        -- Writers wait (readers do not) while rows that arrived before their month's partition move into it.
        LOCK TABLE activity_events_default IN EXCLUSIVE MODE;
        IF EXISTS (SELECT 1 FROM activity_events_default WHERE occurred_at >= lower_bound AND occurred_at < upper_bound) THEN
          EXECUTE format('CREATE TABLE %I (LIKE activity_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name);
          EXECUTE format('WITH moved AS (DELETE FROM activity_events_default WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', partition_name)
            USING lower_bound, upper_bound;
          EXECUTE format('ALTER TABLE activity_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', partition_name, lower_bound, upper_bound);
        ELSE
          EXECUTE format('CREATE TABLE %I PARTITION OF activity_events FOR VALUES FROM (%L) TO (%L)', partition_name, lower_bound, upper_bound);
        END IF;
        RETURN true;
      END $$`);
    // Whole months that ended at or before the cutoff; the rollups keep their figures, activity_event_ids their ids.
    await queryRunner.query(`
      CREATE FUNCTION activity_events_drop_partitions_before(p_cutoff timestamptz) RETURNS SETOF text LANGUAGE plpgsql AS $$
      DECLARE partition_name text;
      BEGIN
        FOR partition_name IN
          SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'activity_events'::regclass AND c.relname ~ '^activity_events_p[0-9]{4}_[0-9]{2}$'
             AND (to_date(substr(c.relname, 18), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC' <= p_cutoff
           ORDER BY 1
        LOOP
          EXECUTE format('ALTER TABLE activity_events DETACH PARTITION %I', partition_name);
          EXECUTE format('DROP TABLE %I', partition_name);
          RETURN NEXT partition_name;
        END LOOP;
      END $$`);
    for (const fn of ['activity_events_create_partition(date)', 'activity_events_drop_partitions_before(timestamptz)']) {
      await queryRunner.query(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    }

    await queryRunner.query(EVENTS_TRIGGER_FUNCTION);
    await queryRunner.query(`
      CREATE TRIGGER rollups_events_inserted AFTER INSERT ON activity_events
        REFERENCING NEW TABLE AS inserted_events FOR EACH STATEMENT EXECUTE FUNCTION rollups_events_inserted()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION IF EXISTS activity_events_drop_partitions_before(timestamptz)`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS activity_events_create_partition(date)`);
    await queryRunner.query(`
      CREATE TABLE activity_events_plain (
        organization_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        type text NOT NULL CHECK (type IN ('login', 'session', 'lesson_completed', 'assessment_submitted')),
        content_id uuid,
        occurred_at timestamptz NOT NULL,
        duration_seconds integer CHECK (duration_seconds BETWEEN 0 AND 86400),
        score double precision CHECK (score BETWEEN 0 AND 100),
        received_at timestamptz NOT NULL DEFAULT now(),
        CHECK (type <> 'session' OR duration_seconds IS NOT NULL)
      )`);
    await queryRunner.query(`INSERT INTO activity_events_plain SELECT organization_id, id, user_id, type, content_id, occurred_at, duration_seconds, score, received_at FROM activity_events`);
    await queryRunner.query(`DROP TABLE activity_events`);
    await queryRunner.query(`ALTER TABLE activity_events_plain RENAME TO activity_events`);
    await queryRunner.query(`ALTER TABLE activity_events ADD CONSTRAINT activity_events_pkey PRIMARY KEY (organization_id, id)`);
    await queryRunner.query(`
      ALTER TABLE activity_events ADD CONSTRAINT activity_events_organization_id_content_id_fkey
        FOREIGN KEY (organization_id, content_id) REFERENCES educational_content (organization_id, id)`);
    await queryRunner.query(`CREATE INDEX events_org_occurred_idx ON activity_events (organization_id, occurred_at)`);
    await queryRunner.query(`CREATE INDEX events_org_type_occurred_idx ON activity_events (organization_id, type, occurred_at)`);
    await queryRunner.query(`CREATE INDEX events_org_content_idx ON activity_events (organization_id, content_id) WHERE content_id IS NOT NULL`);
    await enableTenantIsolation(queryRunner, 'activity_events');
    await queryRunner.query(`GRANT SELECT, INSERT ON activity_events TO toolbox_app`);
    await queryRunner.query(`
      CREATE TRIGGER rollups_events_inserted AFTER INSERT ON activity_events
        REFERENCING NEW TABLE AS inserted_events FOR EACH STATEMENT EXECUTE FUNCTION rollups_events_inserted()`);
    // The previous trigger function (its migration's up() is idempotent), then what only the new one maintained.
    await new IngestionThroughput1764300000000().up(queryRunner);
    await queryRunner.query(`DROP TABLE activity_event_ids`);
    await queryRunner.query(`ALTER TABLE daily_rollups DROP COLUMN assessments_scored`);
  }
}

async function enableTenantIsolation(queryRunner: QueryRunner, table: string): Promise<void> {
  await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
  await queryRunner.query(`
    CREATE POLICY tenant_isolation ON ${table}
      USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
      WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
}

/** Every stored event's id, registered once per organization; an id stored before (any month) refuses the whole statement. */
const REGISTER_IDS = `
        INSERT INTO activity_event_ids (organization_id, id) SELECT organization_id, id FROM inserted_events ORDER BY 1, 2 ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS registered_ids = ROW_COUNT;
        IF registered_ids <> (SELECT count(*) FROM inserted_events) THEN
          RAISE EXCEPTION 'an event with the same id is already stored for this organization'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'activity_event_ids_pkey';
        END IF;`;

/** migrations/1764300000000-ingestion-throughput.ts's function, plus the id registry and the scored assessments. */
export const EVENTS_TRIGGER_FUNCTION = `
      CREATE OR REPLACE FUNCTION rollups_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        added_organizations uuid[];
        added_users uuid[];
        added_days date[];
        locked_users bigint;
        registered_ids bigint;
      BEGIN${REGISTER_IDS}
        WITH added AS (
          INSERT INTO user_active_days (organization_id, user_id, day)
          SELECT DISTINCT organization_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date FROM inserted_events ORDER BY 1, 2, 3
          ON CONFLICT DO NOTHING
          RETURNING organization_id, user_id, day
        )
        SELECT array_agg(organization_id), array_agg(user_id), array_agg(day) INTO added_organizations, added_users, added_days FROM added;
        PERFORM 1 FROM users u WHERE (u.organization_id, u.id) IN (SELECT organization_id, user_id FROM inserted_events)
          ORDER BY u.organization_id, u.id FOR NO KEY UPDATE;
        GET DIAGNOSTICS locked_users = ROW_COUNT;
        IF locked_users <> (SELECT count(*) FROM (SELECT DISTINCT organization_id, user_id FROM inserted_events) batch_users) THEN
          RAISE EXCEPTION 'activity_events.user_id must be a user of the event''s organization' USING ERRCODE = 'foreign_key_violation';
        END IF;
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
                 count(score) FILTER (WHERE type = 'assessment_submitted') AS assessments_scored,
                 COALESCE(sum(score) FILTER (WHERE type = 'assessment_submitted'), 0) AS assessment_score_sum,
                 count(*) FILTER (WHERE type = 'session') AS sessions,
                 COALESCE(sum(duration_seconds) FILTER (WHERE type = 'session'), 0) AS session_seconds
            FROM inserted_events GROUP BY 1, 2
        ), new_active_days AS (
          SELECT * FROM unnest(added_organizations, added_users, added_days) AS n (organization_id, user_id, day)
        ), active_day_neighbours AS (
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
                 sum(assessments_scored) AS assessments_scored,
                 sum(assessment_score_sum) AS assessment_score_sum, sum(sessions) AS sessions, sum(session_seconds) AS session_seconds,
                 sum(daily_active_users) AS daily_active_users, sum(a7) AS a7, sum(a30) AS a30, sum(r30) AS r30
            FROM (
              SELECT organization_id, day, events, lessons_completed, assessments, assessments_scored, assessment_score_sum, sessions, session_seconds,
                     0 AS daily_active_users, 0 AS a7, 0 AS a30, 0 AS r30 FROM event_days
              UNION ALL SELECT organization_id, day, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 FROM new_active_days
              UNION ALL SELECT organization_id, a7_from, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 FROM window_spans WHERE a7_from < a7_to
              UNION ALL SELECT organization_id, a7_to, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0 FROM window_spans WHERE a7_from < a7_to
              UNION ALL SELECT organization_id, a30_from, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 FROM window_spans WHERE a30_from < a30_to
              UNION ALL SELECT organization_id, a30_to, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0 FROM window_spans WHERE a30_from < a30_to
              UNION ALL SELECT organization_id, r30_from, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 FROM window_spans WHERE r30_from < r30_to
              UNION ALL SELECT organization_id, r30_to, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1 FROM window_spans WHERE r30_from < r30_to
            ) change
           GROUP BY organization_id, day
        )
        INSERT INTO daily_rollups AS r (organization_id, day, events, lessons_completed, assessments, assessments_scored, assessment_score_sum, sessions, session_seconds,
                                        daily_active_users, active_7d_delta, active_30d_delta, retained_30d_delta)
        SELECT organization_id, day, events, lessons_completed, assessments, assessments_scored, assessment_score_sum, sessions, session_seconds, daily_active_users, a7, a30, r30
          FROM rollup_changes ORDER BY organization_id, day
        ON CONFLICT (organization_id, day) DO UPDATE
          SET events = r.events + EXCLUDED.events,
              lessons_completed = r.lessons_completed + EXCLUDED.lessons_completed,
              assessments = r.assessments + EXCLUDED.assessments,
              assessments_scored = r.assessments_scored + EXCLUDED.assessments_scored,
              assessment_score_sum = r.assessment_score_sum + EXCLUDED.assessment_score_sum,
              sessions = r.sessions + EXCLUDED.sessions,
              session_seconds = r.session_seconds + EXCLUDED.session_seconds,
              daily_active_users = r.daily_active_users + EXCLUDED.daily_active_users,
              active_7d_delta = r.active_7d_delta + EXCLUDED.active_7d_delta,
              active_30d_delta = r.active_30d_delta + EXCLUDED.active_30d_delta,
              retained_30d_delta = r.retained_30d_delta + EXCLUDED.retained_30d_delta;
        RETURN NULL;
      END $$`;
