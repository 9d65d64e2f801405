import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Integration with a learning platform: API keys, external ids on users and content, and the xAPI statements
 * this service has stored. Learners created by external id (or by a roster without e-mail) have no e-mail.
 */
export class Integration1764500000000 implements MigrationInterface {
  name = 'Integration1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE users ALTER COLUMN email DROP NOT NULL`);
    for (const table of ['users', 'educational_content']) {
      await queryRunner.query(`ALTER TABLE ${table} ADD COLUMN external_id text CHECK (char_length(external_id) BETWEEN 1 AND 255)`);
      // Unique within the organization (NULLs are distinct); the index also serves every lookup by external id.
      await queryRunner.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_external_id_key UNIQUE (organization_id, external_id)`);
    }

    await queryRunner.query(`
      CREATE TABLE api_keys (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        prefix text NOT NULL CHECK (prefix ~ '^[0-9a-f]{12}$'),
        key_hash bytea NOT NULL,
        scopes text[] NOT NULL CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['events:write', 'metrics:read', 'users:write']),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, prefix)
      )`);
    // Authentication finds a key by its prefix before any organization is known.
    await queryRunner.query(`CREATE INDEX api_keys_prefix_idx ON api_keys (prefix)`);

    await queryRunner.query(`
      CREATE TABLE xapi_statements (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        statement jsonb NOT NULL,
        signature text NOT NULL,
        stored timestamptz NOT NULL DEFAULT now(),
        api_key_id uuid NOT NULL,
        event_id uuid,
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, api_key_id) REFERENCES api_keys (organization_id, id)
      )`);
    await queryRunner.query(`CREATE INDEX xapi_statements_org_key_idx ON xapi_statements (organization_id, api_key_id)`);

    for (const table of ['api_keys', 'xapi_statements']) {
      await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`
        CREATE POLICY tenant_isolation ON ${table}
          USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
          WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
    }
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE ON api_keys TO toolbox_app`);
    // Statements are immutable once stored.
    await queryRunner.query(`GRANT SELECT, INSERT ON xapi_statements TO toolbox_app`);

    // The one narrow path that reads keys across tenants: what authentication needs, by prefix, and nothing else.
    await queryRunner.query(`
      CREATE FUNCTION api_key_find(p_prefix text)
      RETURNS TABLE (id uuid, organization_id uuid, key_hash bytea, scopes text[], expires_at timestamptz, revoked_at timestamptz, tier text)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT k.id, k.organization_id, k.key_hash, k.scopes, k.expires_at, k.revoked_at, o.tier
          FROM api_keys k JOIN organizations o ON o.id = k.organization_id
         WHERE k.prefix = p_prefix
      $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION api_key_find(text) FROM PUBLIC`);
    await queryRunner.query(`GRANT EXECUTE ON FUNCTION api_key_find(text) TO toolbox_app`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION IF EXISTS api_key_find(text)`);
    await queryRunner.query(`DROP TABLE IF EXISTS xapi_statements`);
    await queryRunner.query(`DROP TABLE IF EXISTS api_keys`);
    for (const table of ['educational_content', 'users']) {
      await queryRunner.query(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_external_id_key`);
      await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN IF EXISTS external_id`);
    }
    // Learners without an e-mail cannot survive the NOT NULL: the down migration refuses rather than invent addresses.
    await queryRunner.query(`ALTER TABLE users ALTER COLUMN email SET NOT NULL`);
  }
}
