import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far the demo organization's generated activity reaches: each start of the service adds the activity of the
 * time since then, so the demo's dashboard runs up to the present. Written by the owning connection at start-up;
 * like every table that carries organization_id, a tenant's transaction sees its own row only.
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
    await queryRunner.query(`ALTER TABLE demo_activity ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY tenant_isolation ON demo_activity
        USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
        WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
    await queryRunner.query(`GRANT SELECT ON demo_activity TO toolbox_app`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE demo_activity`);
  }
}
