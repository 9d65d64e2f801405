import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * xapi_statements' two foreign keys checked every stored statement against its organization and its API key: two
 * row locks per statement (the organization's row a MultiXact under concurrent batches). Without them the insert of
 * a batch of 500 took 12.6 ms instead of 16.6 (one connection on the bench data, six alternations). Both columns are
 * set by the service, never by the client: the organization is the authenticated key's (and row-level security's
 * WITH CHECK holds it to the transaction's), and neither organizations nor API keys are ever deleted (the service's
 * role may not), so the keys' delete side, and the index that served it, had nothing to guard. activity_events
 * dropped its own for the same reasons.
 */
export class XapiStatementsWithoutRowChecks1765000000003 implements MigrationInterface {
  name = 'XapiStatementsWithoutRowChecks1765000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE xapi_statements DROP CONSTRAINT IF EXISTS xapi_statements_organization_id_api_key_id_fkey`);
    await queryRunner.query(`ALTER TABLE xapi_statements DROP CONSTRAINT IF EXISTS xapi_statements_organization_id_fkey`);
    await queryRunner.query(`DROP INDEX IF EXISTS xapi_statements_org_key_idx`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS xapi_statements_org_key_idx ON xapi_statements (organization_id, api_key_id)`);
    await queryRunner.query(`ALTER TABLE xapi_statements ADD CONSTRAINT xapi_statements_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE`);
    await queryRunner.query(
      `ALTER TABLE xapi_statements ADD CONSTRAINT xapi_statements_organization_id_api_key_id_fkey FOREIGN KEY (organization_id, api_key_id) REFERENCES api_keys (organization_id, id)`,
    );
  }
}
