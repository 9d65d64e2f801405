import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables, indexes, checks and row-level security of the multi-tenant domain.
 * Requests run as the NOLOGIN role toolbox_app (SET LOCAL ROLE), which is neither owner nor superuser,
 * so every policy applies to it; the connecting user keeps ownership for migrations and operations.
 */
export class InitialSchema1764100000000 implements MigrationInterface {
  name = 'InitialSchema1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'toolbox_app') THEN
          CREATE ROLE toolbox_app NOLOGIN;
        END IF;
      END $$`);
    await queryRunner.query(`GRANT toolbox_app TO CURRENT_USER`);

    await queryRunner.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 80),
        tier text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'basic', 'premium', 'enterprise')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    await queryRunner.query(`
      CREATE TABLE users (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        role text NOT NULL CHECK (role IN ('admin', 'teacher', 'student')),
        password_hash text,
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz,
        last_active_at timestamptz,
        PRIMARY KEY (organization_id, id)
      )`);
    // Login finds a user by email before any organization is known, so e-mail is unique service-wide.
    await queryRunner.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);
    await queryRunner.query(`CREATE INDEX users_org_created_idx ON users (organization_id, created_at)`);

    await queryRunner.query(`
      CREATE TABLE educational_content (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        author_id uuid,
        title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 300),
        content_type text NOT NULL CHECK (content_type IN ('lesson', 'quiz', 'exercise', 'project', 'reference')),
        status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
        generation_time_ms integer CHECK (generation_time_ms >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        deleted_at timestamptz,
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, author_id) REFERENCES users (organization_id, id)
      )`);
    await queryRunner.query(`CREATE INDEX content_org_created_idx ON educational_content (organization_id, created_at)`);
    await queryRunner.query(`CREATE INDEX content_org_status_idx ON educational_content (organization_id, status) WHERE deleted_at IS NULL`);
    await queryRunner.query(`CREATE INDEX content_org_author_idx ON educational_content (organization_id, author_id)`);

    await queryRunner.query(`
      CREATE TABLE activity_events (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        type text NOT NULL CHECK (type IN ('login', 'session', 'lesson_completed', 'assessment_submitted')),
        content_id uuid,
        occurred_at timestamptz NOT NULL,
        duration_seconds integer CHECK (duration_seconds BETWEEN 0 AND 86400),
        score double precision CHECK (score BETWEEN 0 AND 100),
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id),
        FOREIGN KEY (organization_id, content_id) REFERENCES educational_content (organization_id, id),
        CHECK (type <> 'session' OR duration_seconds IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE INDEX events_org_occurred_idx ON activity_events (organization_id, occurred_at)`);
    await queryRunner.query(`CREATE INDEX events_org_type_occurred_idx ON activity_events (organization_id, type, occurred_at)`);
    await queryRunner.query(`CREATE INDEX events_org_user_occurred_idx ON activity_events (organization_id, user_id, occurred_at)`);
    await queryRunner.query(`CREATE INDEX events_org_content_idx ON activity_events (organization_id, content_id) WHERE content_id IS NOT NULL`);

    for (const table of ['users', 'educational_content', 'activity_events']) {
      await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`
        CREATE POLICY tenant_isolation ON ${table}
          USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
          WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
    }
    await queryRunner.query(`ALTER TABLE organizations ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY tenant_isolation ON organizations
        USING (id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
        WITH CHECK (id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);

    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO toolbox_app`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE ON organizations, users, educational_content TO toolbox_app`);
    // Events are append-only for the application.
    await queryRunner.query(`GRANT SELECT, INSERT ON activity_events TO toolbox_app`);

    // The one narrow path that reads across tenants: what login needs, by e-mail, and nothing else.
    await queryRunner.query(`
      CREATE FUNCTION auth_find_login(p_email text)
      RETURNS TABLE (user_id uuid, organization_id uuid, password_hash text, is_active boolean)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT u.id, u.organization_id, u.password_hash, u.is_active FROM users u WHERE lower(u.email) = lower(p_email)
      $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION auth_find_login(text) FROM PUBLIC`);
    await queryRunner.query(`GRANT EXECUTE ON FUNCTION auth_find_login(text) TO toolbox_app`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION IF EXISTS auth_find_login(text)`);
    await queryRunner.query(`DROP TABLE IF EXISTS activity_events`);
    await queryRunner.query(`DROP TABLE IF EXISTS educational_content`);
    await queryRunner.query(`DROP TABLE IF EXISTS users`);
    await queryRunner.query(`DROP TABLE IF EXISTS organizations`);
  }
}
