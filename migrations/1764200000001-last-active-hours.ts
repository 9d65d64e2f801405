import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * active_users (distinct users with an event in the rolling last 24 h) without counting tens of thousands of
 * users: last_active_hours holds, per organization and UTC hour, how many users have their last_active_at in that
 * hour. The whole hours after now − 24 h are summed from it; only the partial hour is counted from the users index.
 * A statement trigger on users moves each changed last_active_at from its old hour to its new one.
 */
export class LastActiveHours1764200000001 implements MigrationInterface {
  name = 'LastActiveHours1764200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE last_active_hours (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        hour timestamptz NOT NULL,
        users integer NOT NULL DEFAULT 0,
        PRIMARY KEY (organization_id, hour)
      )`);
    await queryRunner.query(`ALTER TABLE last_active_hours ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY tenant_isolation ON last_active_hours
        USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
        WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON last_active_hours TO toolbox_app`);
    await queryRunner.query(`
      INSERT INTO last_active_hours (organization_id, hour, users)
      SELECT organization_id, date_trunc('hour', last_active_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*)
        FROM users WHERE last_active_at IS NOT NULL GROUP BY 1, 2`);
    await queryRunner.query(`
      CREATE FUNCTION rollups_last_active_moved() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO last_active_hours AS r (organization_id, hour, users)
        SELECT organization_id, hour, sum(delta)
          FROM (
            SELECT o.organization_id, date_trunc('hour', o.last_active_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, -1 AS delta
              FROM old_users o JOIN new_users n ON n.organization_id = o.organization_id AND n.id = o.id
             WHERE o.last_active_at IS NOT NULL AND o.last_active_at IS DISTINCT FROM n.last_active_at
            UNION ALL
            SELECT n.organization_id, date_trunc('hour', n.last_active_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 1
              FROM old_users o JOIN new_users n ON n.organization_id = o.organization_id AND n.id = o.id
             WHERE n.last_active_at IS NOT NULL AND o.last_active_at IS DISTINCT FROM n.last_active_at
          ) moved
         GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2
        ON CONFLICT (organization_id, hour) DO UPDATE SET users = r.users + EXCLUDED.users;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER rollups_last_active_moved AFTER UPDATE ON users
        REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION rollups_last_active_moved()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS rollups_last_active_moved ON users`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS rollups_last_active_moved()`);
    await queryRunner.query(`DROP TABLE IF EXISTS last_active_hours`);
  }
}
