import { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose insert triggers add to an organization's rollups (daily_rollups, user_active_days, last_active_hours). */
const TABLES = ['users', 'educational_content', 'activity_events'] as const;

/**
 * One lock per organization, taken before any of its rollup rows and held to the end of the transaction: exclusive
 * by a statement that inserts users or content, shared by one that inserts events. Without it a transaction that
 * creates learners or content (xAPI, events by external id, roster import) touched daily_rollups in its users and
 * content statements, before the events trigger took users, user_active_days and last_active_hours rows, while a
 * concurrent batch took the same rows in the opposite order: PostgreSQL found a deadlock, waited deadlock_timeout
 * (1 s) and aborted one of them. Batches of events alone take every row in one order (pairs, users, hours, days),
 * so they share the lock and still run side by side; a transaction that creates users or content runs alone.
 * An empty insert (every learner already known) takes nothing. An AFTER statement trigger fires in name order:
 * this one (lock_organization_rollups) runs before login_emails_* and rollups_* on the same table.
 */
export class OrganizationRollupLock1765000000000 implements MigrationInterface {
  name = 'OrganizationRollupLock1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Also called first by a transaction that changes users before it inserts any (roster import), so that it never
    // holds a user's row while waiting for the lock that a batch holding it shares.
    await queryRunner.query(`
      CREATE FUNCTION lock_organization_rollups_of(p_organization uuid, p_exclusive boolean) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        lock_key bigint := hashtextextended('toolbox-metrics rollups ' || p_organization::text, 0);
      BEGIN
        IF p_exclusive THEN PERFORM pg_advisory_xact_lock(lock_key); ELSE PERFORM pg_advisory_xact_lock_shared(lock_key); END IF;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION lock_organization_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Organizations in one order, so that a statement spanning several cannot deadlock with another.
        PERFORM lock_organization_rollups_of(o.organization_id, TG_TABLE_NAME <> 'activity_events')
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
    await queryRunner.query(`DROP FUNCTION IF EXISTS lock_organization_rollups_of(uuid, boolean)`);
  }
}
