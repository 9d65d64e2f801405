import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where the raw events are complete: activity_events_retention.kept_from is the end of the latest month that
 * EVENT_RETENTION_DAYS dropped (no row: nothing was ever dropped). Raw events before it are gone (but for late
 * arrivals, which the rollups counted as they came), so rollups:rebuild recomputes only the days from it on and
 * keeps the figures of the days before, which only the rollups still hold. Platform-wide, like the partitions.
 */
export class RetentionHorizon1765000000001 implements MigrationInterface {
  name = 'RetentionHorizon1765000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE activity_events_retention (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        kept_from timestamptz NOT NULL
      )`);
    await queryRunner.query(`GRANT SELECT ON activity_events_retention TO toolbox_app`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION activity_events_drop_partitions_before(p_cutoff timestamptz) RETURNS SETOF text LANGUAGE plpgsql AS $$
      DECLARE
        partition_name text;
        month_end timestamptz;
      BEGIN
        FOR partition_name IN
          SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'activity_events'::regclass AND c.relname ~ '^activity_events_p[0-9]{4}_[0-9]{2}$'
             AND (to_date(substr(c.relname, 18), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC' <= p_cutoff
           ORDER BY 1
        LOOP
          month_end := (to_date(substr(partition_name, 18), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC';
          EXECUTE format('ALTER TABLE activity_events DETACH PARTITION %I', partition_name);
          EXECUTE format('DROP TABLE %I', partition_name);
          INSERT INTO activity_events_retention AS r (kept_from) VALUES (month_end)
            ON CONFLICT (singleton) DO UPDATE SET kept_from = GREATEST(r.kept_from, EXCLUDED.kept_from);
          RETURN NEXT partition_name;
        END LOOP;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION activity_events_drop_partitions_before(p_cutoff timestamptz) RETURNS SETOF text LANGUAGE plpgsql AS $$
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
    await queryRunner.query(`DROP TABLE activity_events_retention`);
  }
}
