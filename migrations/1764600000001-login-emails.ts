import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every key of a tenant table now contains organization_id, so that each can be distributed by organization (Citus):
 * the one exception was the service-wide unique index on users' lower(email). E-mail uniqueness moves to
 * login_emails, a small table keyed by the normalized e-mail alone (a reference table on Citus), kept by triggers on
 * users in the same transaction as the user's insert, e-mail change or deletion. Its key keeps the name the services
 * already answer 409 for (users_email_key). Login keeps a plain (non-unique) index on users' lower(email).
 */
export class LoginEmails1764600000001 implements MigrationInterface {
  name = 'LoginEmails1764600000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX users_email_key`);
    await queryRunner.query(`CREATE INDEX users_email_idx ON users (lower(email))`);
    await queryRunner.query(`
      CREATE TABLE login_emails (
        email text NOT NULL,
        organization_id uuid NOT NULL,
        user_id uuid NOT NULL,
        CONSTRAINT users_email_key PRIMARY KEY (email)
      )`);
    await queryRunner.query(`CREATE INDEX login_emails_user_idx ON login_emails (organization_id, user_id)`);
    await queryRunner.query(`INSERT INTO login_emails (email, organization_id, user_id) SELECT lower(email), organization_id, id FROM users`);

    await queryRunner.query(`ALTER TABLE login_emails ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY tenant_isolation ON login_emails
        USING (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)
        WITH CHECK (organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid)`);
    // Written only by the triggers below, which run in the request's transaction as the application role.
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON login_emails TO toolbox_app`);

    await queryRunner.query(`
      CREATE FUNCTION login_emails_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO login_emails (email, organization_id, user_id)
        SELECT lower(email), organization_id, id FROM inserted_users ORDER BY 1;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER login_emails_users_inserted AFTER INSERT ON users
        REFERENCING NEW TABLE AS inserted_users FOR EACH STATEMENT EXECUTE FUNCTION login_emails_users_inserted()`);
    await queryRunner.query(`
      CREATE FUNCTION login_emails_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          DELETE FROM login_emails WHERE email = lower(OLD.email) AND organization_id = OLD.organization_id AND user_id = OLD.id;
          RETURN NULL;
        END IF;
        UPDATE login_emails SET email = lower(NEW.email) WHERE email = lower(OLD.email) AND organization_id = OLD.organization_id AND user_id = OLD.id;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER login_emails_user_changed AFTER UPDATE OF email ON users
        FOR EACH ROW WHEN (lower(OLD.email) IS DISTINCT FROM lower(NEW.email)) EXECUTE FUNCTION login_emails_user_changed()`);
    await queryRunner.query(`
      CREATE TRIGGER login_emails_user_deleted AFTER DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION login_emails_user_changed()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS login_emails_user_deleted ON users`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS login_emails_user_changed ON users`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS login_emails_users_inserted ON users`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS login_emails_user_changed()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS login_emails_users_inserted()`);
    await queryRunner.query(`DROP TABLE IF EXISTS login_emails`);
    await queryRunner.query(`DROP INDEX IF EXISTS users_email_idx`);
    await queryRunner.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);
  }
}
