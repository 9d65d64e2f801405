import { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose insert triggers add to an organization's rollups (daily_rollups, user_active_days, last_active_hours). */
const TABLES = ['users', 'educational_content', 'activity_events'] as const;

/**
 * One lock per organization, taken before any of its rollup rows, by every statement that inserts users, content or
 * events, and held to the end of the transaction. Without it a transaction that creates learners or content
 * (xAPI, events by external id, roster import) touched daily_rollups in its users and content statements, before the
 * events trigger took users, user_active_days and last_active_hours rows, while a concurrent batch took the same
 * rows in the opposite order: PostgreSQL found a deadlock, waited deadlock_timeout (1 s) and aborted one of them.
 * The insert itself (rows and indexes, the costly part) still runs in parallel; only the rollup work is serialized,
 * which the shared day rows serialized already. An AFTER statement trigger fires in name order: this one
 * (lock_organization_rollups) runs before login_emails_* and rollups_* on the same table.
 */
export class OrganizationRollupLock1765000000000 implements MigrationInterface {
  name = 'OrganizationRollupLock1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION lock_organization_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Organizations in one order, so that a statement spanning several cannot deadlock with another.
        PERFORM pg_advisory_xact_lock(hashtextextended('toolbox-metrics rollups ' || o.organization_id::text, 0))
          FROM (SELECT DISTINCT organization_id FROM inserted_rows ORDER BY 1) o;
        RETURN NULL;
      END $$`);
    for (const table of TABLES) {
      await queryRunner.query(`
        CREATE TRIGGER lock_organization_rollups AFTER INSERT ON ${table}
          REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION lock_organization_rollups()`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of TABLES) await queryRunner.query(`DROP TRIGGER IF EXISTS lock_organization_rollups ON ${table}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS lock_organization_rollups()`);
  }
}
