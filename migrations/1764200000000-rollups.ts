import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-organization, per-UTC-day rollups that let the dashboard answer without scanning raw events (issue 7).
 *
 * - daily_rollups: one row per (organization, day) with additive counters. Users and content keep theirs
 *   through triggers (they see OLD and NEW of the locked row, on every write path); events keep theirs in
 *   EventsRepository.insertBatch, from the rows the INSERT actually returned.
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
    await queryRunner.query(`
      CREATE FUNCTION rollups_user_activation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO daily_rollups AS r (organization_id, day, new_users_active)
        VALUES (NEW.organization_id, (NEW.created_at AT TIME ZONE 'UTC')::date, CASE WHEN NEW.is_active THEN 1 ELSE -1 END)
        ON CONFLICT (organization_id, day) DO UPDATE SET new_users_active = r.new_users_active + EXCLUDED.new_users_active;
        RETURN NULL;
      END $$`);
    // The WHEN clause keeps ingestion's last_active_at updates from calling the function at all.
    await queryRunner.query(`
      CREATE TRIGGER rollups_user_activation AFTER UPDATE OF is_active ON users
        FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active) EXECUTE FUNCTION rollups_user_activation()`);

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
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_content_changed ON educational_content`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_content_inserted ON educational_content`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_user_activation ON users`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_users_inserted ON users`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_content_changed()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_content_inserted()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_user_activation()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_users_inserted()`);
    await queryRunner.query(`DROP INDEX IF EXISTS users_org_last_active_idx`);
    await queryRunner.query(`DROP TABLE IF EXISTS user_active_days`);
    await queryRunner.query(`DROP TABLE IF EXISTS daily_rollups`);
  }
}
