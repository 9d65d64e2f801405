import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far the demo organization's generated activity reaches: each start of the service adds the activity of the
 * time since then, so the demo's dashboard runs up to the present. A platform table: no tenant role reads it.
 */
export class DemoActivity1764950000000 implements MigrationInterface {
  name = 'DemoActivity1764950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE demo_activity (
        organization_id uuid PRIMARY KEY REFERENCES organizations (id),
        seed integer NOT NULL,
        generated_until timestamptz NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE demo_activity`);
  }
}
